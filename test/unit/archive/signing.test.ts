import { stat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createPrivateKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sha3_256 } from '@noble/hashes/sha3.js';
import {
  SIGNATURE_ALGORITHMS,
  algorithmSpec,
  digestOf,
  generateSigningKey,
  parseDigest,
  parsePublicKeyLine,
  parsePublicKeys,
  readPublicKeyFile,
  readSigningKeyFile,
  signMessage,
  signingKeyFromObject,
  verifyMessage,
  writeKeyPair,
  formatPublicKey,
} from '../../../src/archive/index.ts';
import { isCairnError } from '../../../src/errors.ts';
import { NOBLE_SIGNERS } from '../../support/independent.ts';
import { tempDir } from '../../support/fixtures.ts';

const message = new TextEncoder().encode('cairn signing test');

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (error) {
    return isCairnError(error) ? error.code : String(error);
  }
}

describe('digests', () => {
  it('equal @noble/hashes sha3_256 for random inputs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (bytes) => {
        expect(digestOf(bytes)).toBe(`sha3-256:${Buffer.from(sha3_256(bytes)).toString('hex')}`);
      }),
    );
  });

  it.each(['', 'sha3-256:', `sha3-256:${'A'.repeat(64)}`, `sha256:${'a'.repeat(64)}`, `sha3-256:${'a'.repeat(63)}`, `sha3-256:../${'a'.repeat(61)}`])('rejects %j', (text) => {
    expect(codeOf(() => parseDigest(text))).toBe('DIGEST_INVALID');
  });
});

describe.each(SIGNATURE_ALGORITHMS)('%s through node:crypto', (algorithm) => {
  const key = generateSigningKey(algorithm, 'alice');
  const noble = NOBLE_SIGNERS[algorithm];
  const spec = algorithmSpec(algorithm);

  it('has the key and signature sizes of its standard', () => {
    expect(key.publicKey.raw.length).toBe(spec.publicKeyBytes);
    expect(signMessage(key, message).length).toBe(spec.signatureBytes);
  });

  it('signs what @noble/post-quantum verifies', () => {
    const signature = signMessage(key, message);
    expect(noble.verify(signature, message, key.publicKey.raw)).toBe(true);
    expect(noble.verify(signature, new TextEncoder().encode('other'), key.publicKey.raw)).toBe(false);
  });

  it('verifies what @noble/post-quantum signs, from the same private key', () => {
    const secret = algorithm.startsWith('ml-dsa')
      ? noble.keygen(new Uint8Array(key.privateKey.export({ format: 'raw-seed' } as never) as unknown as Buffer)).secretKey
      : new Uint8Array(key.privateKey.export({ format: 'raw-private' } as never) as unknown as Buffer);
    const signature = noble.sign(message, secret);
    expect(verifyMessage(key.publicKey, message, signature)).toBe(true);
    const tampered = new Uint8Array(signature);
    tampered[10] = (tampered[10] as number) ^ 1;
    expect(verifyMessage(key.publicKey, message, tampered)).toBe(false);
    expect(verifyMessage(key.publicKey, message, signature.subarray(1))).toBe(false);
  });

  it('round-trips through key files; the private key file is mode 0600', async () => {
    const dir = await tempDir();
    const path = join(dir, 'validator.key');
    await writeKeyPair(path, key, { comment: 'alice' });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const again = await readSigningKeyFile(path);
    const [pub] = await readPublicKeyFile(`${path}.pub`);
    expect(pub?.comment).toBe('alice');
    expect(Buffer.from(pub!.raw).equals(Buffer.from(key.publicKey.raw))).toBe(true);
    expect(verifyMessage(pub!, message, signMessage(again, message))).toBe(true);
    expect((await readFile(`${path}.pub`, 'utf8')).startsWith(`${algorithm} `)).toBe(true);
  });
});

describe('key files', () => {
  it('refuses to overwrite an existing key unless asked, and leaves the old one intact', async () => {
    const dir = await tempDir();
    const path = join(dir, 'k');
    const first = generateSigningKey('ml-dsa-44');
    await writeKeyPair(path, first);
    const before = await readFile(path, 'utf8');
    await expect(writeKeyPair(path, generateSigningKey('ml-dsa-44'))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await readFile(path, 'utf8')).toBe(before);
    await writeKeyPair(path, generateSigningKey('ml-dsa-44'), { overwrite: true });
    expect(await readFile(path, 'utf8')).not.toBe(before);
  });

  const good = formatPublicKey(generateSigningKey('slh-dsa-sha2-128f', 'alice').publicKey).trim();
  const [alg, b64] = good.split(' ') as [string, string];
  // docs/FORMAT.md §5 key-file grammar: one spelling, everything else KEY_INVALID.
  it.each([
    ['empty', ''],
    ['unknown algorithm', 'rsa-4096 AAAA'],
    ['not base64', 'ml-dsa-44 !!!!'],
    ['wrong length', 'ml-dsa-44 AAAA'],
    ['a qssh Falcon line', 'qssh-falcon512 AAAA x'],
    ['two spaces between fields', `${alg}  ${b64} alice`],
    ['leading whitespace', ` ${good}`],
    ['trailing whitespace', `${good} `],
    ['a tab', `${alg}\t${b64}`],
    ['an indented # line', `  # note\n${good}`],
    ['a 201-character comment', `${alg} ${b64} ${'a'.repeat(201)}`],
    ['a non-ASCII comment', `${alg} ${b64} alicé`],
    ['uppercase algorithm', `${alg.toUpperCase()} ${b64}`],
    ['unpadded base64', `${alg} ${b64.replace(/=+$/, '')}`],
  ])('rejects a key file with %s', (_name, text) => {
    expect(codeOf(() => parsePublicKeys(text))).toBe('KEY_INVALID');
  });

  it('accepts the grammar exactly: a 200-character comment with spaces inside, CRLF, # lines, empty lines', () => {
    const keys = parsePublicKeys(`# trusted\r\n\r\n${alg} ${b64} ${'a b'.repeat(66)}ab\r\n${good}\n`);
    expect(keys.map((k) => k.comment?.length)).toEqual([200, 5]);
  });

  it('reads several keys from one file, skipping comments and blank lines', () => {
    const a = formatPublicKey(generateSigningKey('ml-dsa-44', 'a').publicKey);
    const b = formatPublicKey(generateSigningKey('slh-dsa-sha2-128f', 'b').publicKey);
    const keys = parsePublicKeys(`# trusted\n${a}\n\n${b}`);
    expect(keys.map((k) => k.comment)).toEqual(['a', 'b']);
  });

  it('rejects a private key of an unsupported type', () => {
    const ed = createPrivateKey({ key: Buffer.from('302e020100300506032b657004220420' + '11'.repeat(32), 'hex'), format: 'der', type: 'pkcs8' });
    expect(codeOf(() => signingKeyFromObject(ed))).toBe('UNKNOWN_ALGORITHM');
  });

  it('property: parsing arbitrary text never throws anything but a CairnError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        try {
          parsePublicKeyLine(text);
        } catch (error) {
          expect(isCairnError(error)).toBe(true);
        }
      }),
    );
  });
});
