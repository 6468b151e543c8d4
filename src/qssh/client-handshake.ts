/**
 * The client side of qssh's handshake, plus what upstream clients lack: the server's identity
 * proof is verified and checked against known-hosts before the client encapsulates a key to
 * the server, so a man in the middle without the server's identity key gets nothing.
 */
import { randomBytes } from 'node:crypto';
import { CairnError } from '../errors.ts';
import { signQssh } from '../archive/keys/falcon.ts';
import type { PublicKey } from '../archive/keys/signing.ts';
import type { QsshConnection } from './connection.ts';
import { verifyIdentityProof } from './identity-proof.ts';
import { deriveSessionKeys, sessionId, sessionMaterial } from './key-schedule.ts';
import { SUPPORTED_KEX, clientKex, type SupportedKex } from './kex.ts';
import { PROTOCOL_VERSION, encodeMessage, type ClientHello } from './messages.ts';

/** The client's Falcon-512 identity (qssh key files). */
export interface ClientIdentity {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** Options of the client handshake. */
export interface ClientHandshakeOptions {
  readonly identity: ClientIdentity;
  readonly username: string;
  /** Preferred key exchange (the others are offered after it). */
  readonly kex?: SupportedKex;
  /** Decides whether the proven server identity is acceptable (known-hosts); throws if not. */
  readonly checkServer: (key: PublicKey) => Promise<void>;
}

/** Runs the handshake; resolves with the server's identity and the key exchange used. */
export async function clientHandshake(conn: QsshConnection, options: ClientHandshakeOptions): Promise<{ serverKey: PublicKey; kex: SupportedKex }> {
  const preferred = options.kex ?? 'MlKem1024';
  const offer = [preferred, ...SUPPORTED_KEX.filter((k) => k !== preferred)];
  const random = randomBytes(32);
  const hello: ClientHello = {
    kind: 'ClientHello',
    version: [PROTOCOL_VERSION[0], PROTOCOL_VERSION[1]],
    random,
    kexAlgorithms: offer.map((kind) => ({ kind })),
    sigAlgorithms: [{ kind: 'Falcon512' }],
    ciphers: ['aes256-gcm'],
    qkdCapable: false,
    extensions: [],
  };
  const helloBytes = encodeMessage(hello);
  await conn.send(hello);
  const { message } = await conn.next();
  if (message.kind === 'Disconnect') throw new CairnError('QSSH_PROTOCOL_ERROR', `the server refused the connection: ${message.description}`);
  if (message.kind !== 'ServerHello') throw new CairnError('QSSH_PROTOCOL_ERROR', `expected ServerHello, got ${message.kind}`);
  if (message.version[0] !== PROTOCOL_VERSION[0] || message.version[1] !== PROTOCOL_VERSION[1]) throw new CairnError('QSSH_PROTOCOL_ERROR', `server speaks protocol ${message.version.join('.')}`);
  const kex = message.selectedKex.kind as SupportedKex;
  if (!offer.includes(kex)) throw new CairnError('QSSH_PROTOCOL_ERROR', `server selected ${message.selectedKex.kind}, which was not offered`);
  const serverKey = verifyIdentityProof(message, helloBytes);
  await options.checkServer(serverKey);

  const { secret, ciphertext, x25519PublicKey } = clientKex(kex, message.mlkemEncapsulationKey, message.x25519PublicKey);
  const empty = new Uint8Array(0);
  await conn.send({ kind: 'KeyExchange', falconPublicKey: empty, keyShare: empty, keyShareSignature: empty, sphincsPublicKey: empty, mlkemCiphertext: ciphertext, x25519PublicKey, qkdProof: undefined });
  const keys = deriveSessionKeys(sessionMaterial(secret, random, message.random), random, message.random);
  conn.startEncryption(keys.clientWrite, keys.serverWrite, keys.epoch);

  const sid = sessionId(random, message.random);
  await conn.send({
    kind: 'Auth',
    username: options.username,
    authMethod: { kind: 'PublicKey', algorithm: { kind: 'Falcon512' }, publicKey: options.identity.publicKey },
    signature: signQssh(options.identity.secretKey, options.identity.publicKey, sid),
    sessionId: sid,
  });
  let reply;
  try {
    reply = (await conn.next()).message;
  } catch (error) {
    throw new CairnError('QSSH_AUTH_FAILED', 'the server closed the connection during authentication', { cause: error });
  }
  if (reply.kind === 'Disconnect') throw new CairnError('QSSH_AUTH_FAILED', `the server refused authentication: ${reply.description}`);
  if (reply.kind !== 'Auth') throw new CairnError('QSSH_PROTOCOL_ERROR', `expected Auth, got ${reply.kind}`);
  return { serverKey, kex };
}
