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
import type { Archive } from '../../archive/service/archive.ts';
import type { IndexedImage } from '../../archive/service/image-index.ts';

export const MAX_PATH_BYTES = 4096;
const HEX_FILE = /^([0-9a-f]{64})\.cimg$/;
const HEIGHT = /^(0|[1-9][0-9]{0,15})$/;

/** A resolved node. */
export type TreeNode = { readonly kind: 'dir'; readonly path: string } | { readonly kind: 'file'; readonly path: string; readonly image: IndexedImage };

/** A directory entry before attributes are filled in. */
export type DirEntry = { readonly name: string; readonly kind: 'dir' } | { readonly name: string; readonly kind: 'file'; readonly image: IndexedImage };

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

function hexOf(image: IndexedImage): string {
  return image.record.digest.slice('sha3-256:'.length);
}

function chains(archive: Archive): string[] {
  return [...new Set([...archive.registry.chains.keys(), ...archive.index.chains()])].filter((c) => c !== 'images').sort();
}

function isChain(archive: Archive, name: string): boolean {
  return name !== 'images' && (archive.registry.chains.has(name) || archive.index.all(name).length > 0);
}

function latest(archive: Archive, chain: string, final: boolean): IndexedImage | undefined {
  return archive.index.latest(chain, final ? (e) => archive.quorum(e).final : undefined);
}

/**
 * Resolves a normalised path: a node; `missing` for a path of the tree's shape that names no
 * image (yet); `outside` for a path that cannot be in the tree at all (answered as a permission
 * error, like writes).
 */
export function resolvePath(archive: Archive, path: string): TreeNode | 'missing' | 'outside' {
  const parts = path.split('/').filter(Boolean);
  if (parts.length === 0) return { kind: 'dir', path };
  const [top, second, third] = parts;
  if (top === 'images') {
    if (parts.length === 1) return { kind: 'dir', path };
    const m = parts.length === 2 ? HEX_FILE.exec(second!) : null;
    if (!m) return 'outside';
    const image = archive.index.get(`sha3-256:${m[1]}`);
    return image ? { kind: 'file', path, image } : 'missing';
  }
  if (!isChain(archive, top!)) return 'outside';
  if (parts.length === 1) return { kind: 'dir', path };
  if (parts.length === 2 && (second === 'latest' || second === 'latest-final')) {
    const image = latest(archive, top!, second === 'latest-final');
    return image ? { kind: 'file', path, image } : 'missing';
  }
  if (!HEIGHT.test(second!) || parts.length > 3 || (parts.length === 3 && !HEX_FILE.test(third!))) return 'outside';
  const height = Number(second);
  const atHeight = archive.index.list(top!, { fromHeight: height, toHeight: height, limit: 1000 }).images;
  if (atHeight.length === 0) return 'missing';
  if (parts.length === 2) return { kind: 'dir', path };
  const hex = HEX_FILE.exec(third!)![1];
  const image = atHeight.find((e) => hexOf(e) === hex);
  return image ? { kind: 'file', path, image } : 'missing';
}

/** The entries of a directory node. */
export function listDirectory(archive: Archive, path: string): DirEntry[] {
  const parts = path.split('/').filter(Boolean);
  if (parts.length === 0) return [{ name: 'images', kind: 'dir' }, ...chains(archive).map((name) => ({ name, kind: 'dir' as const }))];
  if (parts[0] === 'images') {
    return archive.index.chains().flatMap((c) => archive.index.all(c)).map((image) => ({ name: `${hexOf(image)}.cimg`, kind: 'file' as const, image }));
  }
  const chain = parts[0]!;
  if (parts.length === 1) {
    const out: DirEntry[] = [];
    const l = latest(archive, chain, false);
    const lf = latest(archive, chain, true);
    if (l) out.push({ name: 'latest', kind: 'file', image: l });
    if (lf) out.push({ name: 'latest-final', kind: 'file', image: lf });
    let previous: number | undefined;
    for (const image of archive.index.all(chain)) {
      if (image.record.height !== previous) out.push({ name: String(image.record.height), kind: 'dir' });
      previous = image.record.height;
    }
    return out;
  }
  const height = Number(parts[1]);
  return archive.index.list(chain, { fromHeight: height, toHeight: height, limit: 1000 }).images.map((image) => ({ name: `${hexOf(image)}.cimg`, kind: 'file' as const, image }));
}
