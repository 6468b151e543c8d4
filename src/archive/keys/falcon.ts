/**
 * Falcon-512 keys in the file formats of Paraxiom's qssh, for QSSH client authentication.
 *
 * qssh (0.4.x and 0.5.x) signs with the `fn-dsa` 0.3 crate in "raw message" mode with an empty
 * domain context. That mode hashes `nonce ‖ SHAKE256(pk)[0..64] ‖ 0x00 ‖ 0x00 ‖ message`,
 * whereas classic (Round-3) Falcon hashes `nonce ‖ message`; so signing the prefixed message
 * with @noble/post-quantum's Round-3 padded Falcon yields a signature fn-dsa accepts, and the
 * reverse. Encodings are shared: public key 897 bytes, secret key 1281 bytes, padded
 * signature 666 bytes. `test/vectors/falcon/` holds keys made by the real `qssh-keygen` and a
 * signature made by fn-dsa.
 *
 * File formats (as `qssh-keygen` writes them):
 * - public:  `qssh-falcon512 <base64 public key> <comment>\n`
 * - private: `-----BEGIN QSSH PRIVATE KEY-----\nAlgorithm: <description>\n<base64 secret key>\n-----END QSSH PRIVATE KEY-----\n`
 */
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { falcon512padded as Falcon512 } from '@noble/post-quantum/falcon.js';

// Loaded on first use (about 14 MiB): only QSSH authentication and Falcon keys need it.
const load = createRequire(import.meta.url);
let falcon: typeof Falcon512 | undefined;
function falcon512padded(): typeof Falcon512 {
  return (falcon ??= (load('@noble/post-quantum/falcon.js') as { falcon512padded: typeof Falcon512 }).falcon512padded);
}
import { CairnError } from '../../errors.ts';
import { digestOf, type Digest } from '../digest.ts';
import { writePair } from './key-files.ts';

/** Byte lengths of Falcon-512 encodings. */
export const FALCON512 = { publicKeyBytes: 897, secretKeyBytes: 1281, signatureBytes: 666 } as const;

/** The `Algorithm:` line qssh-keygen writes for Falcon-512 private keys. */
export const QSSH_FALCON512_DESCRIPTION = 'Falcon-512 (NTRU lattice, NIST Level 1)';
const PUBLIC_PREFIX = 'qssh-falcon512';
const BEGIN = '-----BEGIN QSSH PRIVATE KEY-----';
const END = '-----END QSSH PRIVATE KEY-----';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** A Falcon-512 public key as qssh uses it. */
export interface FalconPublicKey {
  readonly raw: Uint8Array;
  readonly comment?: string;
  /** `sha3-256:` digest of `raw`. */
  readonly fingerprint: Digest;
}

/** A Falcon-512 key pair. */
export interface FalconKeyPair {
  readonly secretKey: Uint8Array;
  readonly publicKey: FalconPublicKey;
}

function decodeBase64(text: string, expectedBytes: number, what: string): Uint8Array {
  if (!BASE64.test(text) || text.length % 4 !== 0) throw new CairnError('KEY_INVALID', `${what} is not valid base64`);
  const bytes = new Uint8Array(Buffer.from(text, 'base64'));
  if (bytes.length !== expectedBytes) throw new CairnError('KEY_INVALID', `${what} must be ${expectedBytes} bytes, got ${bytes.length}`);
  return bytes;
}

function falconPublicKey(raw: Uint8Array, comment?: string): FalconPublicKey {
  if (raw.length !== FALCON512.publicKeyBytes || raw[0] !== 0x09) {
    throw new CairnError('KEY_INVALID', `not a Falcon-512 public key encoding`);
  }
  return Object.freeze({ raw: new Uint8Array(raw), fingerprint: digestOf(raw), ...(comment ? { comment } : {}) });
}

/** Generates a Falcon-512 key pair (random seed from node:crypto). */
export function generateFalconKey(comment?: string): FalconKeyPair {
  const { secretKey, publicKey } = falcon512padded().keygen(randomBytes(48));
  return { secretKey, publicKey: falconPublicKey(publicKey, comment) };
}

/** Parses a `qssh-falcon512 <base64> [comment]` line. */
export function parseQsshPublicKey(line: string): FalconPublicKey {
  const [prefix = '', encoded = '', ...rest] = line.trim().split(/ +/);
  if (prefix !== PUBLIC_PREFIX) throw new CairnError('KEY_INVALID', `not a ${PUBLIC_PREFIX} public key line`);
  return falconPublicKey(decodeBase64(encoded, FALCON512.publicKeyBytes, 'Falcon public key'), rest.join(' ') || undefined);
}

/** Formats a public key as qssh's one-line form. */
export function formatQsshPublicKey(key: FalconPublicKey, comment = key.comment ?? 'cairn'): string {
  return `${PUBLIC_PREFIX} ${Buffer.from(key.raw).toString('base64')} ${comment}\n`;
}

/** Parses a qssh private key file; only Falcon-512 keys are accepted. */
export function parseQsshPrivateKey(text: string): Uint8Array {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (lines[0] !== BEGIN || lines.at(-1) !== END) throw new CairnError('KEY_INVALID', 'not a QSSH private key file');
  const algorithmLine = lines.find((l) => l.startsWith('Algorithm:'));
  if (!algorithmLine?.includes('Falcon-512')) throw new CairnError('KEY_INVALID', `QSSH private key is not Falcon-512 (${algorithmLine ?? 'no Algorithm line'})`);
  const body = lines.slice(1, -1).filter((l) => !l.includes(':')).join('');
  const secretKey = decodeBase64(body, FALCON512.secretKeyBytes, 'Falcon secret key');
  if (secretKey[0] !== 0x59) throw new CairnError('KEY_INVALID', 'not a Falcon-512 secret key encoding');
  return secretKey;
}

/** Formats a secret key as qssh's private key file. */
export function formatQsshPrivateKey(secretKey: Uint8Array): string {
  return `${BEGIN}\nAlgorithm: ${QSSH_FALCON512_DESCRIPTION}\n${Buffer.from(secretKey).toString('base64')}\n${END}\n`;
}

/** Writes `<path>` (mode 0600) and `<path>.pub` in qssh's formats. */
export async function writeQsshKeyPair(path: string, key: FalconKeyPair, options: { overwrite?: boolean } = {}): Promise<{ privatePath: string; publicPath: string }> {
  return writePair(path, formatQsshPrivateKey(key.secretKey), formatQsshPublicKey(key.publicKey), options.overwrite ?? false);
}

/** The message fn-dsa actually hashes in raw mode with an empty context. */
function fnDsaRawMessage(publicKey: Uint8Array, message: Uint8Array): Uint8Array {
  const prefix = createHash('shake256', { outputLength: 64 }).update(publicKey).digest();
  const out = new Uint8Array(prefix.length + 2 + message.length);
  out.set(prefix, 0);
  out.set(message, prefix.length + 2); // the two bytes between are 0x00 (raw mode) and 0x00 (context length)
  return out;
}

/** Signs like qssh (fn-dsa raw mode); needs the public key for the hashed-key prefix. */
export function signQssh(secretKey: Uint8Array, publicKey: Uint8Array, message: Uint8Array): Uint8Array {
  return falcon512padded().sign(fnDsaRawMessage(publicKey, message), secretKey);
}

/** Verifies a qssh (fn-dsa raw mode) Falcon-512 signature; false for anything malformed. */
export function verifyQssh(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== FALCON512.signatureBytes || publicKey.length !== FALCON512.publicKeyBytes) return false;
  try {
    return falcon512padded().verify(signature, fnDsaRawMessage(publicKey, message), publicKey);
  } catch {
    return false;
  }
}
