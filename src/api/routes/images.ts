/**
 * Image routes: push, manifest, the image file and the raw content.
 *
 *   POST /v1/images                     push an image file (streamed body)
 *   POST /v1/images/{digest}/attestations  add a validator's attestation (CBOR or JSON)
 *   GET  /v1/images/{digest}            manifest (JSON, or CBOR on Accept: application/cbor)
 *   GET  /v1/images/{digest}/file       the self-contained image file with current attestations
 *   GET  /v1/images/{digest}/content    the raw content
 * The last two support HEAD, Range, ETag, If-None-Match and If-Range.
 */
import { Hono, type Context } from 'hono';
import { decodeAttestation, encodeAttestation, parseDigest, type Attestation } from '../../archive/index.ts';
import type { Archive } from '../../archive/service/archive.ts';
import { CairnError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { contentEtag, manifest } from '../manifest.ts';
import { openImageFile } from '../../archive/service/image-file.ts';
import { serveRepresentation } from '../representation.ts';
import type { CairnMetrics } from '../../metrics.ts';
import { respond } from '../respond.ts';
import { requestFields } from '../request-info.ts';
import { ROUTES } from '../openapi/route-table.ts';
import { bodyBytes, on, pathParams } from '../openapi/routing.ts';
import { declaredLength, uploadBody, type UploadPace } from '../request-body.ts';
import { attestationJsonBody } from '../openapi/schemas.ts';

const MOUNT = '/v1/images';

/**
 * A standalone attestation from the body: deterministic CBOR (`application/cbor`, FORMAT.md
 * §4.3) or JSON with the same nine fields (signature in base64).
 */
async function attestationBody(c: Context): Promise<Attestation> {
  const bytes = await bodyBytes(c);
  if ((c.req.header('content-type') ?? '').includes('application/cbor')) return decodeAttestation(bytes);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new CairnError('INVALID_ARGUMENT', 'the body is neither CBOR (Content-Type: application/cbor) nor valid JSON');
  }
  const parsed = attestationJsonBody.safeParse(value);
  if (!parsed.success) throw new CairnError('INVALID_ARGUMENT', `expected { chain, height, digest, size, contentType, validator, signedAt, algorithm, signature }: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const json = parsed.data;
  const candidate = { ...json, digest: parseDigest(json.digest), signature: new Uint8Array(Buffer.from(json.signature, 'base64')) } as unknown as Attestation;
  // Re-validate every field exactly as the CBOR form is validated.
  try {
    return decodeAttestation(encodeAttestation(candidate));
  } catch (error) {
    throw new CairnError('INVALID_ARGUMENT', `invalid attestation: ${(error as Error).message}`, { cause: error });
  }
}

/** The image routes. */
export function imageRoutes(archive: Archive, logger: Logger, metrics: CairnMetrics, uploadPace: UploadPace): Hono {
  const app = new Hono();
  /** The body's chunks, counted as they are pulled (i.e. sent). */
  async function* counted(body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    metrics.pulls.inc({ transport: 'http' });
    for await (const chunk of body) {
      metrics.bytesOut.inc({ transport: 'http' }, chunk.length);
      yield chunk;
    }
  }

  on(app, MOUNT, ROUTES.pushImage, async (c) => {
    const result = await archive.push(uploadBody(c, uploadPace), declaredLength(c));
    metrics.pushes.inc({ result: result.created ? 'created' : 'deduplicated' });
    const r = result.image.record;
    logger.info(result.created ? 'image archived' : 'image deduplicated', { ...requestFields(c), chain: r.chain, height: r.height, digest: r.digest, size: r.size, validator: r.producer.validator, addedAttestations: result.addedAttestations });
    if (result.created) metrics.bytesIn.inc({ transport: 'http' }, result.image.record.size);
    const m = await manifest(archive, result.image);
    return respond(c, { ...m, created: result.created, addedAttestations: result.addedAttestations }, result.created ? 201 : 200);
  });

  on(app, MOUNT, ROUTES.attest, async (c) => {
    const { digest } = pathParams(c, ROUTES.attest.params);
    const attestation = await attestationBody(c);
    if (attestation.digest !== digest) throw new CairnError('INVALID_ARGUMENT', 'the attestation names another digest than the URL');
    const { added, image } = await archive.attest(attestation);
    logger.info(added ? 'attestation added' : 'attestation already present', { ...requestFields(c), chain: attestation.chain, height: attestation.height, digest, validator: attestation.validator });
    const finality = archive.read.finalityOf(image, (await archive.read.attesters([image])).get(digest) ?? []);
    return respond(c, { digest, validator: attestation.validator, added, finality: { final: finality.final, attestedWeight: finality.attestedWeight, totalWeight: finality.totalWeight, ...(finality.finalizedAt === undefined ? {} : { finalizedAt: finality.finalizedAt }) } }, added ? 201 : 200);
  });

  on(app, MOUNT, ROUTES.getManifest, async (c) => {
    const entry = await archive.read.image(pathParams(c, ROUTES.getManifest.params).digest);
    return respond(c, await manifest(archive, entry));
  });

  on(app, MOUNT, ROUTES.getContent, async (c) => {
    const entry = await archive.read.image(pathParams(c, ROUTES.getContent.params).digest);
    const zstd = archive.read.zstdContent(entry);
    return serveRepresentation(c, {
      size: entry.record.size,
      etag: contentEtag(entry),
      contentType: entry.record.contentType,
      read: async (start, end) => counted((await archive.read.content(entry, start, end)).body),
      headers: { 'x-cairn-digest': entry.record.digest },
      ...(zstd ? { zstd: { size: zstd.size, read: async () => counted(await zstd.open()) } } : {}),
    }, logger);
  });

  on(app, MOUNT, ROUTES.getFile, async (c) => {
    const entry = await archive.read.image(pathParams(c, ROUTES.getFile.params).digest);
    const file = await openImageFile(archive, entry);
    const { zstd } = file;
    return serveRepresentation(c, {
      size: file.size,
      etag: file.etag,
      contentType: 'application/vnd.cairn.image',
      read: (start, end) => Promise.resolve(counted(file.read(start, end))),
      headers: { 'x-cairn-digest': entry.record.digest, 'x-cairn-header-bytes': String(file.prefix.length), 'content-disposition': `attachment; filename="${entry.record.chain}-${entry.record.height}-${entry.record.digest.slice(9, 25)}.cimg"` },
      ...(zstd ? { zstd: { size: zstd.size, read: () => counted(zstd.read()) } } : {}),
    }, logger);
  });

  return app;
}
