/**
 * The read-only tree Cairn shows over SFTP:
 *
 *   /                                   images/ and one directory per chain
 *   /images/<hex>.cimg                  every image by digest (hex of its SHA3-256)
 *   /<chain>/latest                     the chain's highest image
 *   /<chain>/latest-final               its highest final image
 *   /<chain>/<height>/<hex>.cimg        images by height (forks share a height)
 *
 * Every file is the self-contained image file with its current attestations. Names avoid ':'
 * because `qscp user@host:path` splits on the last colon. Paths are normalised like a POSIX
 * path; a `..` that would climb above `/`, a NUL byte or an over-long path is refused as hostile.
 */
import { CairnError } from '../../errors.ts';
import { DIGEST_KEY_PART, digestFromKeyPart, digestKeyPart, type Archive, type ArchivedImage } from '../../archive/index.ts';

export const MAX_PATH_BYTES = 4096;
/** Directory listings show at most this many entries per chain, the newest (paths beyond still resolve). */
export const MAX_LISTED = 10_000;
const HEX_FILE = new RegExp(`^(${DIGEST_KEY_PART})\\.cimg$`);
const HEIGHT = /^(0|[1-9][0-9]{0,15})$/;

/** A resolved node. */
export type TreeNode = { readonly kind: 'dir'; readonly path: string } | { readonly kind: 'file'; readonly path: string; readonly image: ArchivedImage };

/** A directory entry before attributes are filled in. */
export type DirEntry = { readonly name: string; readonly kind: 'dir' } | { readonly name: string; readonly kind: 'file'; readonly image: ArchivedImage };

/** Normalises `raw` (absolute, or relative to `/`) to `/a/b` form; throws for hostile paths. */
export function normalizePath(raw: string): string {
  if (Buffer.byteLength(raw) > MAX_PATH_BYTES) throw new CairnError('QSSH_PROTOCOL_ERROR', `path of ${Buffer.byteLength(raw)} bytes is over the limit`);
  if (raw.includes('\0')) throw new CairnError('QSSH_PROTOCOL_ERROR', 'path contains a NUL byte');
  const out: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) throw new CairnError('QSSH_PROTOCOL_ERROR', `path traversal above the root: ${JSON.stringify(raw.slice(0, 200))}`);
      out.pop();
      continue;
    }
    out.push(part);
  }
  return `/${out.join('/')}`;
}

function hexOf(image: ArchivedImage): string {
  return digestKeyPart(image.record.digest);
}

async function chains(archive: Archive): Promise<string[]> {
  return [...new Set([...archive.registry.chains.keys(), ...(await archive.read.counts()).keys()])].filter((c) => c !== 'images').sort();
}

async function isChain(archive: Archive, name: string): Promise<boolean> {
  return name !== 'images' && (archive.registry.chains.has(name) || (await archive.metadata.latest(name)) !== undefined);
}

async function latest(archive: Archive, chain: string, final: boolean): Promise<ArchivedImage | undefined> {
  if (!archive.registry.chains.has(chain)) return undefined;
  return archive.read.latest(chain, { final });
}

/**
 * Resolves a normalised path: a node; `missing` for a path of the tree's shape that names no
 * image (yet); `outside` for a path that cannot be in the tree at all (answered as a permission
 * error, like writes).
 */
export async function resolvePath(archive: Archive, path: string): Promise<TreeNode | 'missing' | 'outside'> {
  const parts = path.split('/').filter(Boolean);
  if (parts.length === 0) return { kind: 'dir', path };
  const [top, second, third] = parts;
  if (top === 'images') {
    if (parts.length === 1) return { kind: 'dir', path };
    const m = parts.length === 2 ? HEX_FILE.exec(second!) : null;
    if (!m) return 'outside';
    const digest = digestFromKeyPart(m[1] as string);
    const image = digest ? await archive.read.find(digest) : undefined;
    return image ? { kind: 'file', path, image } : 'missing';
  }
  if (!(await isChain(archive, top!))) return 'outside';
  if (parts.length === 1) return { kind: 'dir', path };
  if (parts.length === 2 && (second === 'latest' || second === 'latest-final')) {
    const image = await latest(archive, top!, second === 'latest-final');
    return image ? { kind: 'file', path, image } : 'missing';
  }
  if (!HEIGHT.test(second!) || parts.length > 3 || (parts.length === 3 && !HEX_FILE.test(third!))) return 'outside';
  const height = Number(second);
  const atHeight = await archive.read.atHeight(top!, height);
  if (atHeight.length === 0) return 'missing';
  if (parts.length === 2) return { kind: 'dir', path };
  const hex = HEX_FILE.exec(third!)![1];
  const image = atHeight.find((e) => hexOf(e) === hex);
  return image ? { kind: 'file', path, image } : 'missing';
}

/** The entries of a directory node. */
export async function listDirectory(archive: Archive, path: string): Promise<DirEntry[]> {
  const parts = path.split('/').filter(Boolean);
  if (parts.length === 0) return [{ name: 'images', kind: 'dir' }, ...(await chains(archive)).map((name) => ({ name, kind: 'dir' as const }))];
  const out: DirEntry[] = [];
  if (parts[0] === 'images') {
    for (const chain of (await archive.read.counts()).keys()) {
      for (const image of await archive.read.newest(chain, MAX_LISTED)) out.push({ name: `${hexOf(image)}.cimg`, kind: 'file', image });
    }
    return out;
  }
  const chain = parts[0]!;
  if (parts.length === 1) {
    const l = await latest(archive, chain, false);
    const lf = await latest(archive, chain, true);
    if (l) out.push({ name: 'latest', kind: 'file', image: l });
    if (lf) out.push({ name: 'latest-final', kind: 'file', image: lf });
    for (const height of (await archive.metadata.topHeights(chain, MAX_LISTED)).reverse()) out.push({ name: String(height), kind: 'dir' });
    return out;
  }
  return (await archive.read.atHeight(chain, Number(parts[1]))).map((image) => ({ name: `${hexOf(image)}.cimg`, kind: 'file' as const, image }));
}
