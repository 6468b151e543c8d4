/**
 * Who may open a QSSH session: the Falcon-512 keys of the validator registry (each validator's
 * optional `qsshKey`, read from the live registry so a removed validator is refused at its next
 * connection) plus an optional list of reader keys from the configuration.
 */
import type { Registry } from '../archive/registry/registry.ts';
import { parseQsshPublicKey } from '../archive/keys/falcon.ts';

/** The authenticated party of a session. */
export type Principal = { readonly kind: 'validator'; readonly chain: string; readonly id: string } | { readonly kind: 'reader'; readonly name: string };

/** Looks up the principal a public key belongs to. */
export type Authorizer = (publicKey: Uint8Array) => Principal | undefined;

/** Describes a principal for logs. */
export function principalName(p: Principal): string {
  return p.kind === 'validator' ? `validator ${p.chain}/${p.id}` : `reader ${p.name}`;
}

/** Parses reader key lines (`qssh-falcon512 <base64> [name]`). */
export function parseReaderKeys(lines: readonly string[]): Array<{ key: Uint8Array; name: string }> {
  return lines.map((line, i) => {
    const key = parseQsshPublicKey(line);
    return { key: key.raw, name: key.comment ?? `reader-${i + 1}` };
  });
}

/** An authorizer over the current registry (called per connection) and fixed reader keys. */
export function registryAuthorizer(registry: () => Registry, readers: ReadonlyArray<{ key: Uint8Array; name: string }>): Authorizer {
  const readerMap = new Map(readers.map((r) => [Buffer.from(r.key).toString('base64'), r.name]));
  return (publicKey) => {
    const wanted = Buffer.from(publicKey);
    for (const [chain, entry] of registry().chains) {
      for (const validator of entry.validators.values()) {
        if (validator.qsshKey && wanted.equals(validator.qsshKey.raw)) return { kind: 'validator', chain, id: validator.id };
      }
    }
    const reader = readerMap.get(wanted.toString('base64'));
    return reader === undefined ? undefined : { kind: 'reader', name: reader };
  };
}
