/**
 * Server authentication, which upstream qssh lacks (its clients load host keys and discard
 * them). Cairn's server signs the handshake transcript with its ML-DSA-65 identity — the same
 * key `/v1/identity` publishes and announcements are signed with — and puts the proof in the
 * ServerHello's `extensions` as `Custom("cairn-identity-v1", cbor)`. Unmodified qssh clients
 * decode and ignore extensions; Cairn's client verifies the proof before it encapsulates to
 * the server's ML-KEM key, so a server without the identity's private key cannot complete a
 * handshake that Cairn's client accepts.
 *
 * Signed statement: "cairn/qssh-identity/v1\0" ‖ SHA3-256(ClientHello bytes) ‖
 * SHA3-256(ServerHello bytes with `extensions` empty). The ServerHello carries the server
 * random and the ML-KEM (and X25519) public values; the ClientHello carries the client random,
 * so a proof cannot be replayed into another handshake.
 */
import { createHash } from 'node:crypto';
import { CairnError } from '../errors.ts';
import { decodeCbor, encodeCbor, isCborMap } from '../archive/cbor/deterministic-cbor.ts';
import { publicKeyFromRaw, signMessage, verifyMessage, type PublicKey, type SigningKey } from '../archive/keys/signing.ts';
import { encodeMessage, type ServerHello } from './messages.ts';

/** Name of the ServerHello extension that carries the proof. */
export const IDENTITY_EXTENSION = 'cairn-identity-v1';
const DOMAIN = Buffer.from('cairn/qssh-identity/v1\0', 'latin1');

function statement(clientHello: Uint8Array, hello: ServerHello): Buffer {
  const bare = encodeMessage({ ...hello, extensions: hello.extensions.filter((e) => !(e.kind === 'Custom' && e.value[0] === IDENTITY_EXTENSION)) });
  const h = (b: Uint8Array): Buffer => createHash('sha3-256').update(b).digest();
  return Buffer.concat([DOMAIN, h(clientHello), h(bare)]);
}

/** The ServerHello with the identity proof added. `hello` must not carry one yet. */
export function withIdentityProof(hello: ServerHello, clientHello: Uint8Array, identity: SigningKey): ServerHello {
  const signature = signMessage(identity, statement(clientHello, hello));
  const proof = encodeCbor({ v: 1, algorithm: identity.algorithm, publicKey: identity.publicKey.raw, signature });
  return { ...hello, extensions: [...hello.extensions, { kind: 'Custom', value: [IDENTITY_EXTENSION, proof] }] };
}

/** Verifies the proof in a ServerHello and returns the server's identity key. */
export function verifyIdentityProof(hello: ServerHello, clientHello: Uint8Array): PublicKey {
  const found = hello.extensions.filter((e) => e.kind === 'Custom' && e.value[0] === IDENTITY_EXTENSION);
  if (found.length !== 1) throw new CairnError('HOST_KEY_MISSING', found.length === 0 ? 'the server sent no Cairn identity proof (not a Cairn server, or one that predates it)' : 'the server sent more than one identity proof');
  const proof = (found[0] as { value: [string, Uint8Array] }).value[1];
  let key: PublicKey;
  let signature: Uint8Array;
  try {
    const value = decodeCbor(proof);
    if (!isCborMap(value) || value.v !== 1 || typeof value.algorithm !== 'string' || !(value.publicKey instanceof Uint8Array) || !(value.signature instanceof Uint8Array)) throw new Error('shape');
    key = publicKeyFromRaw(value.algorithm, value.publicKey, 'cairn-server');
    signature = value.signature;
  } catch (error) {
    throw new CairnError('HOST_KEY_MISSING', 'the server identity proof is malformed', { cause: error });
  }
  if (!verifyMessage(key, statement(clientHello, hello), signature)) throw new CairnError('HOST_KEY_MISSING', 'the server identity proof does not verify over this handshake');
  return key;
}
