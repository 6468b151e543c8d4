/**
 * A BlobStore that times every operation of the store it wraps into the
 * `cairn_store_operation_duration_seconds` histogram (listing: until the listing ends; get:
 * until the body stream is open). Behaviour is the wrapped store's, errors included.
 */
import type { CairnMetrics } from '../../metrics.ts';
import type { BlobStore } from './blob-store.ts';

/** Wraps `store` so its operations are timed. */
export function instrumentStore(store: BlobStore, metrics: CairnMetrics): BlobStore {
  const timed = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    const end = metrics.storeDuration.startTimer({ operation });
    try {
      const value = await run();
      end({ outcome: 'ok' });
      return value;
    } catch (error) {
      end({ outcome: 'error' });
      throw error;
    }
  };
  async function* timedList<T>(operation: string, items: () => AsyncIterable<T>): AsyncGenerator<T> {
    const end = metrics.storeDuration.startTimer({ operation });
    let outcome = 'error';
    try {
      yield* items();
      outcome = 'ok';
    } finally {
      end({ outcome });
    }
  }
  const wrapped: BlobStore = {
    driver: store.driver,
    capabilities: store.capabilities,
    put: (key, body, options) => timed('put', () => store.put(key, body, options)),
    createIfAbsent: (key, body) => timed('createIfAbsent', () => store.createIfAbsent(key, body)),
    replaceIfMatch: (key, body, etag) => timed('replaceIfMatch', () => store.replaceIfMatch(key, body, etag)),
    get: (key, range) => timed('get', () => store.get(key, range)),
    head: (key) => timed('head', () => store.head(key)),
    list: (prefix) => timedList('list', () => store.list(prefix)),
    delete: (key) => timed('delete', () => store.delete(key)),
    ping: () => timed('ping', () => store.ping()),
    close: () => store.close(),
  };
  if (store.listIncompleteUploads) {
    const list = store.listIncompleteUploads.bind(store);
    wrapped.listIncompleteUploads = (prefix) => timedList('listIncompleteUploads', () => list(prefix));
  }
  if (store.abortIncompleteUpload) {
    const abort = store.abortIncompleteUpload.bind(store);
    wrapped.abortIncompleteUpload = (upload) => timed('abortIncompleteUpload', () => abort(upload));
  }
  if (store.setLegalHold) {
    const hold = store.setLegalHold.bind(store);
    wrapped.setLegalHold = (key, on) => timed('setLegalHold', () => hold(key, on));
  }
  return wrapped;
}
