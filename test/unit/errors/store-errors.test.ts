/**
 * A full store has its own code (STORE_FULL, 507), from the fs driver's ENOSPC/EDQUOT and from
 * MinIO's XMinioStorageFull alike; other I/O and S3 failures keep theirs.
 */
import { describe, expect, it } from 'vitest';
import { toCairnError } from '../../../src/errors.ts';
import { translateS3Error } from '../../../src/archive/store/drivers/s3-errors.ts';

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated`), { code, syscall: 'write', path: '/data/objects/blobs/x' });
}

describe('store errors', () => {
  it('maps a full volume to STORE_FULL (507) and other I/O failures to IO_ERROR', () => {
    for (const code of ['ENOSPC', 'EDQUOT']) expect(toCairnError(errno(code))).toMatchObject({ code: 'STORE_FULL', httpStatus: 507 });
    expect(toCairnError(errno('EIO'))).toMatchObject({ code: 'IO_ERROR', httpStatus: 500 });
  });

  it("maps MinIO's storage-full answer to STORE_FULL, other 5xx to STORE_UNAVAILABLE", () => {
    expect(translateS3Error({ name: 'XMinioStorageFull', $metadata: { httpStatusCode: 507 } }, 'put', 'blobs/x')).toMatchObject({ code: 'STORE_FULL' });
    expect(translateS3Error({ name: 'InternalError', $metadata: { httpStatusCode: 500 } }, 'put', 'blobs/x')).toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  it('maps a connection that failed or went away mid-transfer to STORE_UNAVAILABLE, however deep the cause', () => {
    for (const code of ['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_SOCKET_CLOSED', 'UND_ERR_CLOSED']) {
      expect(translateS3Error(Object.assign(new Error('simulated'), { code }), 'UploadPart', 'blobs/x')).toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect(translateS3Error(new Error('upload failed', { cause: Object.assign(new Error('inner'), { code }) }), 'UploadPart', 'blobs/x')).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    }
    expect(translateS3Error({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }, 'put', 'blobs/x')).toMatchObject({ code: 'STORE_ERROR' });
  });
});
