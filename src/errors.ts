/**
 * Cairn's typed errors.
 *
 * Every failure a user can cause or observe is a {@link CairnError} with a stable `code`.
 * The table below is the one place that says what each code means and how it maps onto
 * each transport's status codes: HTTP, and the SFTP v3 status a QSSH client receives. Codes
 * are part of the public contract: never rename one, only add. What a client may see of an
 * error is {@link publicError}'s answer, on every transport.
 */

/** The properties of one stable error code. */
export interface ErrorCodeSpec {
  /** HTTP status the API answers with. */
  readonly httpStatus: number;
  /** SFTP v3 status (draft-ietf-secsh-filexfer-02 §7) the QSSH listener answers with; FAILURE (4) unless set. */
  readonly sftpStatus?: number;
  /** One sentence for documentation and for errors raised without a specific message. */
  readonly summary: string;
}

/** Every stable error code Cairn emits, with its HTTP status and meaning. */
export const ERROR_CODES = {
  INVALID_ARGUMENT: { httpStatus: 400, summary: 'An argument or request field is invalid.' },
  CBOR_MALFORMED: { httpStatus: 400, summary: 'Bytes are not well-formed, valid CBOR (or, for records and standalone attestations, not of the expected shape).' },
  CBOR_NOT_CANONICAL: { httpStatus: 400, summary: 'CBOR is not in the deterministic encoding Cairn requires.' },
  CBOR_UNSUPPORTED: { httpStatus: 400, summary: 'CBOR holds an item outside Cairn\'s data model (tag, float, simple value, integer beyond ±(2^53 − 1), non-text map key).' },
  IMAGE_BAD_MAGIC: { httpStatus: 400, summary: 'The file does not start with the Cairn image magic.' },
  IMAGE_UNSUPPORTED_VERSION: { httpStatus: 400, summary: 'The image format version is not supported.' },
  IMAGE_TRUNCATED: { httpStatus: 400, summary: 'The image ended before its declared header or content.' },
  IMAGE_HEADER_TOO_LARGE: { httpStatus: 413, summary: 'The image header is larger than the configured limit.' },
  IMAGE_HEADER_INVALID: { httpStatus: 400, summary: 'The image header is missing fields, has extra fields or invalid values.' },
  IMAGE_TRAILING_BYTES: { httpStatus: 400, summary: 'The image has bytes after its declared content.' },
  DIGEST_INVALID: { httpStatus: 400, summary: 'A digest is not of the form sha3-256:<64 lowercase hex> or sha3-256-chunks:<64 lowercase hex>.' },
  DIGEST_MISMATCH: { httpStatus: 422, summary: 'The content does not hash to the declared digest.' },
  CHUNK_LIST_INVALID: { httpStatus: 422, summary: "A format-v2 image's signed chunk list breaks the chunk size rules or does not add up to the content size." },
  SIZE_MISMATCH: { httpStatus: 422, summary: 'The content length differs from the declared size.' },
  UNKNOWN_ALGORITHM: { httpStatus: 400, summary: 'The signature algorithm is not one Cairn supports.' },
  SIGNATURE_INVALID: { httpStatus: 422, summary: 'A signature does not verify over the statement it claims to sign.' },
  UNTRUSTED_SIGNER: { httpStatus: 403, summary: 'No trusted key is known for the signer.' },
  KEY_INVALID: { httpStatus: 400, summary: 'A key or key file is malformed or of the wrong kind.' },
  QUEUE_STATE_INVALID: { httpStatus: 400, summary: 'Queue-state content is not a valid list of queue messages.' },
  IO_ERROR: { httpStatus: 500, summary: 'A file or stream operation failed.' },
  NOT_FOUND: { httpStatus: 404, sftpStatus: 2, summary: 'The requested object does not exist.' },
  UNKNOWN_CHAIN: { httpStatus: 404, sftpStatus: 2, summary: 'The chain is not in the validator registry.' },
  UNKNOWN_VALIDATOR: { httpStatus: 403, summary: 'The validator is not registered for the chain.' },
  SIGNED_AT_IN_FUTURE: { httpStatus: 400, summary: 'The attestation is dated further in the future than the allowed clock skew.' },
  DIGEST_CONFLICT: { httpStatus: 409, summary: 'The digest is already archived under another chain or height.' },
  PRECONDITION_FAILED: { httpStatus: 412, summary: 'A conditional write found the object in another state.' },
  RANGE_NOT_SATISFIABLE: { httpStatus: 416, summary: 'The requested byte range is outside the object.' },
  RANGE_INVALID: { httpStatus: 400, summary: 'The Range header is malformed.' },
  BODY_SIZE_MISMATCH: { httpStatus: 400, summary: 'The request body length differs from Content-Length or the image it declares.' },
  UNAUTHORIZED: { httpStatus: 401, sftpStatus: 3, summary: 'A valid bearer token is required.' },
  FORBIDDEN: { httpStatus: 403, sftpStatus: 3, summary: 'The token does not allow this operation.' },
  INTEGRITY_ERROR: { httpStatus: 500, summary: 'Stored data failed authentication or verification; it is not served.' },
  STORE_UNAVAILABLE: { httpStatus: 503, sftpStatus: 4, summary: 'The object store cannot be reached; retry later.' },
  STORE_ERROR: { httpStatus: 502, summary: 'The object store answered with an unexpected error.' },
  STORE_FULL: { httpStatus: 507, sftpStatus: 4, summary: 'The object store has no space left; nothing was stored. Retry once space is freed.' },
  CONFIG_INVALID: { httpStatus: 500, summary: 'The configuration is invalid.' },
  KEY_UNAVAILABLE: { httpStatus: 500, summary: 'The master key that wrapped a data key is not configured.' },
  QSSH_PROTOCOL_ERROR: { httpStatus: 400, summary: 'A QSSH peer sent bytes that break the protocol (framing, encoding, sequence, state).' },
  QSSH_AUTH_FAILED: { httpStatus: 403, summary: 'QSSH authentication failed: the key is not authorised or the signature does not verify.' },
  HOST_KEY_MISMATCH: { httpStatus: 502, summary: 'The server proved an identity other than the one pinned for it in known-hosts.' },
  HOST_KEY_MISSING: { httpStatus: 502, summary: 'The server sent no identity proof, or one that does not verify.' },
  SFTP_ERROR: { httpStatus: 502, summary: 'The SFTP server answered a request with an error status.' },
  EPOCH_CHANGE_UNCONFIRMED: { httpStatus: 409, summary: "A chain's epoch length would change; that needs an explicit confirmation (it decides which boundary images retention keeps)." },
  METADATA_UNAVAILABLE: { httpStatus: 503, sftpStatus: 4, summary: 'The metadata database cannot be reached; retry later.' },
  CBOR_LIMIT_EXCEEDED: { httpStatus: 400, summary: 'CBOR nests deeper or holds more items than its size allows.' },
  BODY_TOO_LARGE: { httpStatus: 413, summary: 'The request body is larger than this route accepts.' },
  UPLOAD_IDLE_TIMEOUT: { httpStatus: 408, summary: 'The client sent no bytes of its upload for longer than the idle timeout.' },
  CLIENT_ABORTED: { httpStatus: 499, summary: 'The client closed the connection before its request was complete.' },
  CLAIM_MISMATCH: { httpStatus: 502, summary: "What the server claimed about an image (chain, height, digest) differs from the image's signed header." },
  ROLLBACK_REFUSED: { httpStatus: 409, summary: 'The image is not above the local height: restoring it would roll the node back.' },
  INTERNAL: { httpStatus: 500, summary: 'An unexpected internal error occurred.' },
} as const satisfies Record<string, ErrorCodeSpec>;

/** A stable error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Options accepted by {@link CairnError}. */
export interface CairnErrorOptions {
  /** Structured, non-secret details for clients (field names, expected/actual values). */
  details?: Record<string, unknown>;
  /** The underlying error, kept for logs; never sent to clients. */
  cause?: unknown;
}

/** An error with a stable code, a one-line message and optional structured details. */
export class CairnError extends Error {
  /** The stable code; see {@link ERROR_CODES}. */
  readonly code: ErrorCode;
  /** Structured details safe to show to the client. */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, options: CairnErrorOptions = {}) {
    super(message ?? ERROR_CODES[code].summary, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CairnError';
    this.code = code;
    this.details = options.details;
  }

  /** The HTTP status for this error's code. */
  get httpStatus(): number {
    return ERROR_CODES[this.code].httpStatus;
  }

  /** The JSON body the API and `--json` CLI output use. */
  toJSON(): { error: { code: ErrorCode; message: string; details?: Record<string, unknown> } } {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}

/** True when `error` is a {@link CairnError}, optionally with the given code. */
export function isCairnError(error: unknown, code?: ErrorCode): error is CairnError {
  return error instanceof CairnError && (code === undefined || error.code === code);
}

/**
 * What a client may see of `error` (HTTP body, SFTP status message): its code always; its
 * message and details only for codes the client caused (below 500). Server-side failures carry
 * only their code's summary, since their messages can name hosts, paths or keys.
 */
export function publicError(error: unknown): CairnError {
  const e = toCairnError(error);
  return e.httpStatus >= 500 ? new CairnError(e.code) : e;
}

/** The SFTP v3 status code for `error`'s code. */
export function sftpStatusOf(error: CairnError): number {
  const spec: ErrorCodeSpec = ERROR_CODES[error.code];
  return spec.sftpStatus ?? 4;
}

/**
 * Wraps anything thrown into a {@link CairnError}: Cairn errors pass through, Node system
 * errors become `IO_ERROR`, everything else `INTERNAL` (with the original kept as `cause`).
 */
export function toCairnError(error: unknown): CairnError {
  if (error instanceof CairnError) return error;
  if (error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && (error as NodeJS.ErrnoException).syscall) {
    const errno = error as NodeJS.ErrnoException;
    if (errno.code === 'ENOSPC' || errno.code === 'EDQUOT') return new CairnError('STORE_FULL', `${errno.syscall ?? 'io'} failed: ${errno.code}: no space left`, { cause: error });
    return new CairnError('IO_ERROR', `${errno.syscall ?? 'io'} failed: ${errno.code ?? 'unknown'}${errno.path ? ` (${errno.path})` : ''}`, { cause: error });
  }
  return new CairnError('INTERNAL', undefined, { cause: error });
}
