/**
 * qssh 0.5's key schedule, as its source computes it (`crypto/mlkem.rs`, `crypto/kdf.rs`,
 * `crypto/hybrid.rs`, `transport/mod.rs`, `handshake.rs`):
 *
 *   material   = SHA3-256("QSSH-MLKEM-v1" ‖ kem_secret ‖ client_random ‖ server_random)
 *   kem_secret = ML-KEM shared secret, or for the hybrid
 *                SHA3-256("QSSH-HYBRID-X25519-MLKEM768-v1" ‖ x25519_secret ‖ mlkem768_secret)
 *   client/server write key = HKDF-SHA3-256(salt = client_random ‖ server_random, ikm = material,
 *                info = "client write key" / "server write key"), 32 bytes each
 *   session_id = SHA3-256("QSSH-SESSION-ID" ‖ client_random ‖ server_random)  (what auth signs)
 *   epoch_0    = SHA3-256("qssh-epoch-v2" ‖ client_write_key ‖ server_write_key)
 *   rekey:       HKDF-SHA3-256(salt = epoch_n, ikm = fresh ML-KEM-1024 secret) expanded with
 *                "qssh-rekey-v2 initiator write" / "… responder write" / "… epoch"
 */
import { createHash, hkdfSync } from 'node:crypto';

function sha3(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha3-256');
  for (const p of parts) h.update(p);
  return h.digest();
}

const text = (s: string): Buffer => Buffer.from(s, 'latin1');

function hkdf(salt: Uint8Array, ikm: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSync('sha3-256', ikm, salt, info, 32));
}

/** Session material from the key-exchange secret. */
export function sessionMaterial(kemSecret: Uint8Array, clientRandom: Uint8Array, serverRandom: Uint8Array): Buffer {
  return sha3(text('QSSH-MLKEM-v1'), kemSecret, clientRandom, serverRandom);
}

/** The hybrid KEX's combined secret. */
export function hybridSecret(x25519Secret: Uint8Array, mlkemSecret: Uint8Array): Buffer {
  return sha3(text('QSSH-HYBRID-X25519-MLKEM768-v1'), x25519Secret, mlkemSecret);
}

/** Directional keys after the handshake. */
export interface SessionKeys {
  readonly clientWrite: Buffer;
  readonly serverWrite: Buffer;
  /** Seed of the rekey chain. */
  readonly epoch: Buffer;
}

/** Derives the session keys from the session material. */
export function deriveSessionKeys(material: Uint8Array, clientRandom: Uint8Array, serverRandom: Uint8Array): SessionKeys {
  const salt = Buffer.concat([clientRandom, serverRandom]);
  const clientWrite = hkdf(salt, material, 'client write key');
  const serverWrite = hkdf(salt, material, 'server write key');
  return { clientWrite, serverWrite, epoch: sha3(text('qssh-epoch-v2'), clientWrite, serverWrite) };
}

/** What the client's authentication signature covers. */
export function sessionId(clientRandom: Uint8Array, serverRandom: Uint8Array): Buffer {
  return sha3(text('QSSH-SESSION-ID'), clientRandom, serverRandom);
}

/** Keys of the next epoch after an in-band rekey. */
export function deriveRekeyKeys(epoch: Uint8Array, kemSecret: Uint8Array): { initiatorWrite: Buffer; responderWrite: Buffer; epoch: Buffer } {
  return {
    initiatorWrite: hkdf(epoch, kemSecret, 'qssh-rekey-v2 initiator write'),
    responderWrite: hkdf(epoch, kemSecret, 'qssh-rekey-v2 responder write'),
    epoch: hkdf(epoch, kemSecret, 'qssh-rekey-v2 epoch'),
  };
}
