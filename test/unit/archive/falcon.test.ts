import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  FALCON512,
  formatQsshPrivateKey,
  formatQsshPublicKey,
  generateFalconKey,
  parseQsshPrivateKey,
  parseQsshPublicKey,
  signQssh,
  verifyQssh,
  writeQsshKeyPair,
} from '../../../src/archive/index.ts';
import { isCairnError } from '../../../src/errors.ts';
import { tempDir } from '../../support/fixtures.ts';

const vectorDir = join(import.meta.dirname, '../../vectors/falcon');

async function vector(): Promise<{ privateText: string; publicText: string; message: Uint8Array; signature: Uint8Array }> {
  const json = JSON.parse(await readFile(join(vectorDir, 'fn-dsa-signature.json'), 'utf8')) as { messageHex: string; signatureHex: string };
  return {
    privateText: await readFile(join(vectorDir, 'qssh-keygen-falcon512'), 'utf8'),
    publicText: await readFile(join(vectorDir, 'qssh-keygen-falcon512.pub'), 'utf8'),
    message: new Uint8Array(Buffer.from(json.messageHex, 'hex')),
    signature: new Uint8Array(Buffer.from(json.signatureHex, 'hex')),
  };
}

describe('Falcon-512 keys in qssh formats', () => {
  it('reads key files written by the real qssh-keygen and writes them back byte for byte', async () => {
    const v = await vector();
    const secretKey = parseQsshPrivateKey(v.privateText);
    const publicKey = parseQsshPublicKey(v.publicText);
    expect(secretKey.length).toBe(FALCON512.secretKeyBytes);
    expect(publicKey.raw.length).toBe(FALCON512.publicKeyBytes);
    expect(publicKey.comment).toBe('vector@cairn');
    expect(formatQsshPrivateKey(secretKey)).toBe(v.privateText);
    expect(formatQsshPublicKey(publicKey)).toBe(v.publicText);
  });

  it('verifies a signature made by fn-dsa (the signer qssh uses)', async () => {
    const v = await vector();
    const publicKey = parseQsshPublicKey(v.publicText);
    expect(verifyQssh(publicKey.raw, v.message, v.signature)).toBe(true);
    expect(verifyQssh(publicKey.raw, new TextEncoder().encode('another message'), v.signature)).toBe(false);
  });

  it('signs with the qssh-keygen key so that its own verifier (fn-dsa rules) accepts it', async () => {
    const v = await vector();
    const secretKey = parseQsshPrivateKey(v.privateText);
    const publicKey = parseQsshPublicKey(v.publicText);
    const signature = signQssh(secretKey, publicKey.raw, v.message);
    expect(signature.length).toBe(FALCON512.signatureBytes);
    expect(signature[0]).toBe(v.signature[0]);
    expect(verifyQssh(publicKey.raw, v.message, signature)).toBe(true);
  });

  it('generates keys that round-trip through files (private key mode 0600)', async () => {
    const dir = await tempDir();
    const key = generateFalconKey('node-7');
    const { privatePath, publicPath } = await writeQsshKeyPair(join(dir, 'id_qssh'), key);
    expect((await stat(privatePath)).mode & 0o777).toBe(0o600);
    const sk = parseQsshPrivateKey(await readFile(privatePath, 'utf8'));
    const pk = parseQsshPublicKey(await readFile(publicPath, 'utf8'));
    const msg = new TextEncoder().encode('session id');
    expect(verifyQssh(pk.raw, msg, signQssh(sk, pk.raw, msg))).toBe(true);
  });

  it.each([
    ['a PKCS#8 key', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'],
    ['a SPHINCS+ qssh key', '-----BEGIN QSSH PRIVATE KEY-----\nAlgorithm: SPHINCS+ (hash-based, quantum-safe)\nAAAA\n-----END QSSH PRIVATE KEY-----\n'],
    ['a truncated key', '-----BEGIN QSSH PRIVATE KEY-----\nAlgorithm: Falcon-512 (NTRU lattice, NIST Level 1)\nWQAA\n-----END QSSH PRIVATE KEY-----\n'],
  ])('rejects %s as KEY_INVALID', (_name, text) => {
    expect(() => parseQsshPrivateKey(text)).toThrow(expect.objectContaining({ code: 'KEY_INVALID' }) as Error);
  });

  it('property: arbitrary public key lines and signatures never throw anything but a CairnError', () => {
    const pk = generateFalconKey().publicKey.raw;
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.uint8Array({ maxLength: 700 }), (line, sig) => {
        try {
          parseQsshPublicKey(line);
        } catch (error) {
          expect(isCairnError(error)).toBe(true);
        }
        expect(verifyQssh(pk, Uint8Array.of(1), sig)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});
