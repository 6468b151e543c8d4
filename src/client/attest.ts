/**
 * Attesting to an archived image: the statement is built from the server's manifest, checked
 * against the validator's own copy of the image when one is given, signed locally and sent.
 * Nothing is downloaded.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { CairnError } from '../errors.ts';
import { FILE_CHUNK_BYTES, IMAGE_MAGIC, digestStream, encodeAttestation, openImage, signAttestation, type Attestation, type Digest, type SigningKey } from '../archive/index.ts';
import { getJson, request } from './http-client.ts';

/** What to attest. */
export interface AttestOptions {
  readonly conn: { base: string; token?: string };
  readonly digest: Digest;
  readonly key: SigningKey;
  readonly validator: string;
  /** The validator's own copy: an image file or the raw content; must match the manifest. */
  readonly file?: string;
  /** Time to sign (default now). */
  readonly signedAt?: number;
}

interface Manifest {
  chain: string;
  height: number;
  digest: string;
  size: number;
  contentType: string;
}

async function isImageFile(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(IMAGE_MAGIC.length);
    await handle.read(head, 0, head.length, 0);
    return head.equals(Buffer.from(IMAGE_MAGIC));
  } finally {
    await handle.close();
  }
}

async function checkLocalCopy(path: string, manifest: Manifest): Promise<void> {
  let digest: string;
  let size: number;
  if (await isImageFile(path)) {
    const opened = await openImage(createReadStream(path, { highWaterMark: FILE_CHUNK_BYTES }));
    for await (const _ of opened.content); // verifies content against the file's own header
    if (opened.header.chain !== manifest.chain || opened.header.height !== manifest.height) {
      throw new CairnError('INVALID_ARGUMENT', `local image is ${opened.header.chain} height ${opened.header.height}, the archive says ${manifest.chain} height ${manifest.height}`);
    }
    ({ digest, size } = opened.header);
  } else {
    ({ digest, size } = await digestStream(createReadStream(path, { highWaterMark: FILE_CHUNK_BYTES })));
  }
  if (digest !== manifest.digest || size !== manifest.size) {
    throw new CairnError('DIGEST_MISMATCH', 'the local copy differs from the archived image: not attesting', { details: { local: { digest, size }, archived: { digest: manifest.digest, size: manifest.size } } });
  }
}

/** Signs and submits an attestation; resolves with the server's answer. */
export async function attestImage(options: AttestOptions): Promise<{ attestation: Attestation; added: boolean; finality: { final: boolean; attestedWeight: number; totalWeight: number; finalizedAt?: number } }> {
  const manifest = await getJson<Manifest>(options.conn, `/v1/images/${options.digest}`);
  if (manifest.digest !== options.digest) throw new CairnError('STORE_ERROR', 'the server answered for another digest');
  if (options.file) await checkLocalCopy(options.file, manifest);
  const attestation = signAttestation(
    { chain: manifest.chain, height: manifest.height, digest: options.digest, size: manifest.size, contentType: manifest.contentType, validator: options.validator, signedAt: options.signedAt ?? Date.now() },
    options.key,
  );
  const response = await request(options.conn, `/v1/images/${options.digest}/attestations`, {
    method: 'POST',
    body: Buffer.from(encodeAttestation(attestation)),
    headers: { 'content-type': 'application/cbor', accept: 'application/json' },
  });
  const body = (await response.json()) as { added: boolean; finality: { final: boolean; attestedWeight: number; totalWeight: number; finalizedAt?: number } };
  return { attestation, added: body.added, finality: body.finality };
}
