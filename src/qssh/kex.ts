/**
 * The key exchanges Cairn speaks, on node:crypto (OpenSSL's ML-KEM and X25519): ML-KEM-1024
 * (qssh's default), ML-KEM-768, and the hybrid X25519 + ML-KEM-768. `FalconSignedShares` is
 * never offered or accepted: it derives the session key from values sent in clear, so it gives
 * no confidentiality (qssh's own source says so).
 */
import { createPublicKey, decapsulate, diffieHellman, encapsulate, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { CairnError } from '../errors.ts';
import { hybridSecret } from './key-schedule.ts';
import type { KexAlgorithm } from './messages.ts';

/** Key exchanges Cairn supports, in its order of preference. */
export const SUPPORTED_KEX = ['MlKem1024', 'HybridX25519MlKem768', 'MlKem768'] as const satisfies readonly KexAlgorithm[];
export type SupportedKex = (typeof SUPPORTED_KEX)[number];

const KEM = { MlKem1024: 'ml-kem-1024', MlKem768: 'ml-kem-768', HybridX25519MlKem768: 'ml-kem-768' } as const;

function kexFailed(message: string, cause?: unknown): CairnError {
  return new CairnError('QSSH_PROTOCOL_ERROR', `key exchange failed: ${message}`, cause === undefined ? {} : { cause });
}

function importRaw(raw: Uint8Array, type: 'ml-kem-1024' | 'ml-kem-768' | 'x25519', what: string): KeyObject {
  try {
    return createPublicKey({ key: Buffer.from(raw), format: 'raw-public', asymmetricKeyType: type } as never);
  } catch (error) {
    throw kexFailed(`invalid ${what} (${raw.length} bytes)`, error);
  }
}

function rawPublic(key: KeyObject): Buffer {
  return key.export({ format: 'raw-public' } as never) as unknown as Buffer;
}

function x25519Shared(privateKey: KeyObject, peerRaw: Uint8Array): Buffer {
  const peer = importRaw(peerRaw, 'x25519', 'X25519 public key');
  try {
    return diffieHellman({ privateKey, publicKey: peer });
  } catch (error) {
    throw kexFailed('X25519 produced no shared secret (low-order point)', error);
  }
}

/** The server's half: its public values for the ServerHello, and how to finish. */
export interface ServerKex {
  readonly mlkemEncapsulationKey: Buffer;
  readonly x25519PublicKey?: Buffer;
  /** The KEX secret from the client's KeyExchange values. */
  finish(ciphertext: Uint8Array | undefined, clientX25519: Uint8Array | undefined): Buffer;
}

/** Starts the server side of `algorithm`. */
export function serverKex(algorithm: SupportedKex): ServerKex {
  const kem = generateKeyPairSync(KEM[algorithm] as 'ml-kem-768');
  const x = algorithm === 'HybridX25519MlKem768' ? generateKeyPairSync('x25519') : undefined;
  return {
    mlkemEncapsulationKey: rawPublic(kem.publicKey),
    ...(x ? { x25519PublicKey: rawPublic(x.publicKey) } : {}),
    finish(ciphertext, clientX25519) {
      if (!ciphertext) throw kexFailed('the client sent no ML-KEM ciphertext');
      let secret: Buffer;
      try {
        secret = decapsulate(kem.privateKey, Buffer.from(ciphertext));
      } catch (error) {
        throw kexFailed(`invalid ML-KEM ciphertext (${ciphertext.length} bytes)`, error);
      }
      if (!x) return secret;
      if (!clientX25519) throw kexFailed('the client sent no X25519 public key');
      return hybridSecret(x25519Shared(x.privateKey, clientX25519), secret);
    },
  };
}

/** The client side: encapsulate to the server's values. */
export function clientKex(algorithm: SupportedKex, serverEk: Uint8Array | undefined, serverX25519: Uint8Array | undefined): { secret: Buffer; ciphertext: Buffer; x25519PublicKey?: Buffer } {
  if (!serverEk) throw kexFailed('the server sent no ML-KEM encapsulation key');
  const { sharedKey, ciphertext } = encapsulate(importRaw(serverEk, KEM[algorithm], 'ML-KEM encapsulation key'));
  if (algorithm !== 'HybridX25519MlKem768') return { secret: sharedKey, ciphertext };
  if (!serverX25519) throw kexFailed('the server sent no X25519 public key');
  const x = generateKeyPairSync('x25519');
  return { secret: hybridSecret(x25519Shared(x.privateKey, serverX25519), sharedKey), ciphertext, x25519PublicKey: rawPublic(x.publicKey) };
}

/** A fresh ML-KEM-1024 pair for an in-band rekey (initiator side). */
export function rekeyInit(): { ek: Buffer; finish(ct: Uint8Array): Buffer } {
  const kem = generateKeyPairSync('ml-kem-1024');
  return {
    ek: rawPublic(kem.publicKey),
    finish(ct) {
      try {
        return decapsulate(kem.privateKey, Buffer.from(ct));
      } catch (error) {
        throw kexFailed('invalid rekey ciphertext', error);
      }
    },
  };
}

/** The responder's side of an in-band rekey. */
export function rekeyRespond(ek: Uint8Array): { secret: Buffer; ciphertext: Buffer } {
  const { sharedKey, ciphertext } = encapsulate(importRaw(ek, 'ml-kem-1024', 'rekey encapsulation key'));
  return { secret: sharedKey, ciphertext };
}
