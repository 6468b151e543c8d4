/**
 * Key files for image-signing keys.
 *
 * - Private key: PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), as OpenSSL writes it, mode 0600.
 * - Public key: one line `<algorithm> SP <base64 raw public key> [SP <comment>]`, e.g.
 *   `slh-dsa-sha2-128s 3q2+7w…= alice`. A public key file may hold several such lines;
 *   empty lines and lines starting with `#` (in the first column) are ignored. The grammar is
 *   strict (docs/FORMAT.md §5): single spaces, no leading or trailing whitespace, printable
 *   ASCII only; anything else, an unknown algorithm included, is `KEY_INVALID`.
 */
import { readFile, rm } from 'node:fs/promises';
import { CairnError } from '../../errors.ts';
import { writeFileAtomic } from '../fs/atomic-write.ts';
import { isSignatureAlgorithm, SIGNATURE_ALGORITHMS } from './algorithms.ts';
import { publicKeyFromRaw, signingKeyFromPkcs8, type PublicKey, type SigningKey } from './signing.ts';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** 1–200 printable ASCII characters, neither starting nor ending with a space. */
const COMMENT_PATTERN = /^[\x21-\x7e](?:[\x20-\x7e]{0,198}[\x21-\x7e])?$/;

/** Formats the one-line text form of a public key. */
export function formatPublicKey(key: PublicKey, comment = key.comment): string {
  if (comment !== undefined && !COMMENT_PATTERN.test(comment)) {
    throw new CairnError('INVALID_ARGUMENT', 'key comment must be printable ASCII without leading space, at most 200 characters');
  }
  return `${key.algorithm} ${Buffer.from(key.raw).toString('base64')}${comment ? ` ${comment}` : ''}\n`;
}

/** Parses one public key line (docs/FORMAT.md §5 `key-line`); every fault is `KEY_INVALID`. */
export function parsePublicKeyLine(line: string): PublicKey {
  const fields = line.split(' ');
  const [algorithm = '', encoded = ''] = fields;
  const comment = fields.length > 2 ? fields.slice(2).join(' ') : undefined;
  if (algorithm.startsWith('qssh-')) {
    throw new CairnError('KEY_INVALID', `${algorithm.slice(0, 40)} is a QSSH client key, not an image-signing key`);
  }
  if (!isSignatureAlgorithm(algorithm)) {
    throw new CairnError('KEY_INVALID', `not a Cairn public key line: "${algorithm.slice(0, 40)}" is not one of ${SIGNATURE_ALGORITHMS.join(', ')} (fields are separated by single spaces)`);
  }
  if (!BASE64.test(encoded) || encoded.length % 4 !== 0) throw new CairnError('KEY_INVALID', 'public key is not valid base64 (RFC 4648, padded)');
  if (comment !== undefined && !COMMENT_PATTERN.test(comment)) {
    throw new CairnError('KEY_INVALID', 'key comment must be 1–200 printable ASCII characters, not starting or ending with a space');
  }
  const raw = Buffer.from(encoded, 'base64');
  // One key, one text: non-zero padding bits would give the same key a second spelling.
  if (raw.toString('base64') !== encoded) throw new CairnError('KEY_INVALID', 'public key is not canonical base64');
  return publicKeyFromRaw(algorithm, raw, comment);
}

/**
 * Parses every public key line of a key file: lines end with LF (a CR before it is dropped);
 * empty lines and lines starting with `#` are skipped; each other line must be a key line.
 */
export function parsePublicKeys(text: string): PublicKey[] {
  const keys: PublicKey[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '' || line.startsWith('#')) {
      if (!/^[\x20-\x7e]*$/.test(line)) throw new CairnError('KEY_INVALID', `line ${i + 1}: comment lines are printable ASCII`);
      return;
    }
    try {
      keys.push(parsePublicKeyLine(line));
    } catch (error) {
      if (error instanceof CairnError) throw new CairnError(error.code, `line ${i + 1}: ${error.message}`, { cause: error });
      throw error;
    }
  });
  if (keys.length === 0) throw new CairnError('KEY_INVALID', 'no public key found');
  return keys;
}

/** Reads a public key file (one or more key lines). */
export async function readPublicKeyFile(path: string): Promise<PublicKey[]> {
  return parsePublicKeys(await readText(path));
}

/** Reads a PKCS#8 PEM private key file. */
export async function readSigningKeyFile(path: string): Promise<SigningKey> {
  const text = await readText(path);
  if (!text.includes('-----BEGIN PRIVATE KEY-----')) {
    throw new CairnError('KEY_INVALID', `${path} is not a PKCS#8 PEM private key`);
  }
  return signingKeyFromPkcs8(text);
}

/**
 * Writes `<path>` (private key, mode 0600) and `<path>.pub` (public key line). Refuses to
 * overwrite existing files unless `overwrite` is set; on failure neither file is left behind.
 */
export async function writeKeyPair(path: string, key: SigningKey, options: { comment?: string; overwrite?: boolean } = {}): Promise<{ privatePath: string; publicPath: string }> {
  const pem = key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const publicLine = formatPublicKey(key.publicKey, options.comment);
  return writePair(path, pem, publicLine, options.overwrite ?? false);
}

/** Writes a private/public file pair atomically; shared with the Falcon (QSSH) key files. */
export async function writePair(path: string, privateText: string, publicText: string, overwrite: boolean): Promise<{ privatePath: string; publicPath: string }> {
  const publicPath = `${path}.pub`;
  await writeFileAtomic(path, privateText, { mode: 0o600, overwrite });
  try {
    await writeFileAtomic(publicPath, publicText, { mode: 0o644, overwrite });
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  }
  return { privatePath: path, publicPath };
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CairnError(code === 'ENOENT' ? 'INVALID_ARGUMENT' : 'IO_ERROR', `cannot read ${path}: ${code ?? 'error'}`, { cause: error });
  }
}
