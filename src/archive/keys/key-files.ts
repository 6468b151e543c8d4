/**
 * Key files for image-signing keys.
 *
 * - Private key: PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), as OpenSSL writes it, mode 0600.
 * - Public key: one line `<algorithm> <base64 raw public key> [comment]`, e.g.
 *   `slh-dsa-sha2-128s 3q2+7w…= alice`. A public key file may hold several such lines;
 *   blank lines and lines starting with `#` are ignored. See `docs/FORMAT.md` §Keys.
 */
import { readFile, rm } from 'node:fs/promises';
import { CairnError } from '../../errors.ts';
import { writeFileAtomic } from '../fs/atomic-write.ts';
import { isSignatureAlgorithm } from './algorithms.ts';
import { publicKeyFromRaw, signingKeyFromPkcs8, type PublicKey, type SigningKey } from './signing.ts';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const COMMENT_PATTERN = /^[\x21-\x7e][\x20-\x7e]{0,199}$/;

/** Formats the one-line text form of a public key. */
export function formatPublicKey(key: PublicKey, comment = key.comment): string {
  if (comment !== undefined && !COMMENT_PATTERN.test(comment)) {
    throw new CairnError('INVALID_ARGUMENT', 'key comment must be printable ASCII without leading space, at most 200 characters');
  }
  return `${key.algorithm} ${Buffer.from(key.raw).toString('base64')}${comment ? ` ${comment}` : ''}\n`;
}

/** Parses one public key line. */
export function parsePublicKeyLine(line: string): PublicKey {
  const trimmed = line.trim();
  const [algorithm = '', encoded = '', ...rest] = trimmed.split(/ +/);
  if (algorithm.startsWith('qssh-')) {
    throw new CairnError('KEY_INVALID', `${algorithm.slice(0, 40)} is a QSSH client key, not an image-signing key`);
  }
  if (!isSignatureAlgorithm(algorithm)) {
    throw new CairnError(algorithm.includes('-') && encoded ? 'UNKNOWN_ALGORITHM' : 'KEY_INVALID', `not a Cairn public key line (algorithm "${algorithm.slice(0, 40)}")`);
  }
  if (!BASE64.test(encoded) || encoded.length % 4 !== 0) throw new CairnError('KEY_INVALID', 'public key is not valid base64');
  const comment = rest.join(' ');
  return publicKeyFromRaw(algorithm, Buffer.from(encoded, 'base64'), comment || undefined);
}

/** Parses every public key line of a text (blank lines and `#` comments skipped). */
export function parsePublicKeys(text: string): PublicKey[] {
  const keys = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map(parsePublicKeyLine);
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
