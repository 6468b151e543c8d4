/**
 * The validator registry persisted in the blob store (`registry/registry.json`), the single
 * source of truth once it exists. Updates are compare-and-swap on the object's etag, so two
 * Cairn processes on one bucket cannot lose each other's changes.
 */
import { CairnError } from '../../errors.ts';
import { parseRegistry, registryToDocument, type Registry, type RegistryDocument } from '../registry/registry.ts';
import { readObject, type BlobStore } from '../store/blob-store.ts';
import { REGISTRY_KEY } from './layout.ts';

async function readJson(store: BlobStore): Promise<{ document: unknown; etag: string } | undefined> {
  const info = await store.head(REGISTRY_KEY);
  if (!info) return undefined;
  const bytes = await readObject(store, REGISTRY_KEY);
  try {
    return { document: JSON.parse(bytes.toString('utf8')), etag: info.etag };
  } catch (error) {
    throw new CairnError('INTEGRITY_ERROR', 'stored registry is not valid JSON', { cause: error });
  }
}

function encode(registry: Registry): Uint8Array {
  return Buffer.from(`${JSON.stringify(registryToDocument(registry), null, 2)}\n`);
}

/** Loads the stored registry, or stores `initial` when there is none yet. */
export async function loadOrSeedRegistry(store: BlobStore, initial: Registry): Promise<{ registry: Registry; seeded: boolean }> {
  const stored = await readJson(store);
  if (stored) return { registry: parseRegistry(stored.document), seeded: false };
  if (await store.createIfAbsent(REGISTRY_KEY, encode(initial))) return { registry: initial, seeded: true };
  const raced = await readJson(store);
  if (!raced) throw new CairnError('STORE_ERROR', 'registry vanished while it was being created');
  return { registry: parseRegistry(raced.document), seeded: false };
}

/**
 * Applies `change` to the stored registry with compare-and-swap, retrying on concurrent
 * updates. `change` gets the current document and returns the new one (validated here).
 */
export async function updateStoredRegistry(store: BlobStore, change: (current: RegistryDocument) => RegistryDocument, prepare?: (chains: string[]) => Promise<void>): Promise<Registry> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const stored = await readJson(store);
    const current = stored ? registryToDocument(parseRegistry(stored.document)) : { chains: {} };
    const proposed = change(structuredClone(current));
    // `prepare` may look things up for the chains of the proposal; then `change` runs again on them.
    const next = parseRegistry(prepare ? (await prepare(Object.keys(proposed.chains)), change(structuredClone(current))) : proposed);
    const bytes = encode(next);
    const ok = stored ? await store.replaceIfMatch(REGISTRY_KEY, bytes, stored.etag) : await store.createIfAbsent(REGISTRY_KEY, bytes);
    if (ok) return next;
  }
  throw new CairnError('PRECONDITION_FAILED', 'the registry kept changing concurrently; try again');
}

/**
 * Follows changes other processes make to the stored registry: every `intervalMs`, a HEAD of
 * the registry object; when its etag differs from the last one seen (the first check always
 * reads), the registry is read and handed to `apply` (applying an unchanged registry again is
 * harmless). Returns `check` (to look now, e.g. when another process announces a change) and
 * `stop`. Failures (store down, a registry that does not validate) keep the current registry and
 * are reported to `onError`.
 */
export function followStoredRegistry(store: BlobStore, intervalMs: number, apply: (registry: Registry) => void, onError: (error: unknown) => void): { check: () => void; stop: () => void } {
  let lastEtag: string | undefined;
  let running = false;
  const check = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      const info = await store.head(REGISTRY_KEY);
      if (!info || info.etag === lastEtag) return;
      const stored = await readJson(store);
      if (!stored) return;
      const registry = parseRegistry(stored.document);
      lastEtag = stored.etag;
      apply(registry);
    } catch (error) {
      onError(error);
    } finally {
      running = false;
    }
  };
  void check();
  const timer = setInterval(() => void check(), intervalMs);
  timer.unref();
  return { check: () => void check(), stop: () => clearInterval(timer) };
}
