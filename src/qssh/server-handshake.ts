/**
 * The server side of qssh's handshake: ClientHello → ServerHello (with Cairn's identity proof)
 * → KeyExchange → keys → encrypted Auth (Falcon-512 public key, signature over the session id)
 * → Auth echoed as success, or Disconnect(AUTHENTICATION_FAILED).
 */
import { randomBytes } from 'node:crypto';
import { CairnError } from '../errors.ts';
import { FALCON512, verifyQssh } from '../archive/keys/falcon.ts';
import type { SigningKey } from '../archive/keys/signing.ts';
import type { Authorizer, Principal } from './authorized-keys.ts';
import type { QsshConnection } from './connection.ts';
import { withIdentityProof } from './identity-proof.ts';
import { deriveSessionKeys, sessionId, sessionMaterial } from './key-schedule.ts';
import { SUPPORTED_KEX, serverKex, type SupportedKex } from './kex.ts';
import { PROTOCOL_VERSION, type Message, type ServerHello } from './messages.ts';

/** An authenticated session's facts. */
export interface HandshakeResult {
  readonly principal: Principal;
  readonly username: string;
  readonly kex: SupportedKex;
}

function expect<K extends Message['kind']>(message: Message, kind: K): Extract<Message, { kind: K }> {
  if (message.kind !== kind) throw new CairnError('QSSH_PROTOCOL_ERROR', `expected ${kind}, got ${message.kind}`);
  return message as Extract<Message, { kind: K }>;
}

/** Picks the client's most preferred key exchange that Cairn supports. */
export function selectKex(offered: ReadonlyArray<{ kind: string }>): SupportedKex | undefined {
  return offered.map((k) => k.kind).find((k): k is SupportedKex => (SUPPORTED_KEX as readonly string[]).includes(k));
}

/** Runs the handshake; throws a CairnError (after telling the client, where possible). */
export async function serverHandshake(conn: QsshConnection, options: { identity: SigningKey; authorize: Authorizer }): Promise<HandshakeResult> {
  const { message: first, bytes: clientHelloBytes } = await conn.next();
  const hello = expect(first, 'ClientHello');
  if (hello.version[0] !== PROTOCOL_VERSION[0] || hello.version[1] !== PROTOCOL_VERSION[1]) {
    throw new CairnError('QSSH_PROTOCOL_ERROR', `client speaks protocol ${hello.version.join('.')}, Cairn speaks ${PROTOCOL_VERSION.join('.')} (qssh 0.5.x)`);
  }
  const kex = selectKex(hello.kexAlgorithms);
  if (!kex) throw new CairnError('QSSH_PROTOCOL_ERROR', `no acceptable key exchange among ${hello.kexAlgorithms.map((k) => k.kind).join(', ') || 'none'} (Cairn accepts ${SUPPORTED_KEX.join(', ')})`);
  if (!hello.ciphers.includes('aes256-gcm')) throw new CairnError('QSSH_PROTOCOL_ERROR', 'the client does not offer aes256-gcm');
  const server = serverKex(kex);
  const random = randomBytes(32);
  const bare: ServerHello = {
    kind: 'ServerHello',
    version: [PROTOCOL_VERSION[0], PROTOCOL_VERSION[1]],
    random,
    selectedKex: { kind: kex },
    selectedSig: { kind: 'SphincsPlus' },
    selectedCipher: 'aes256-gcm',
    falconPublicKey: new Uint8Array(0),
    keyShare: new Uint8Array(0),
    keyShareSignature: new Uint8Array(0),
    mlkemEncapsulationKey: server.mlkemEncapsulationKey,
    x25519PublicKey: server.x25519PublicKey,
    qkdEndpoint: undefined,
    extensions: [],
  };
  await conn.send(withIdentityProof(bare, clientHelloBytes, options.identity));

  const exchange = expect((await conn.next()).message, 'KeyExchange');
  const material = sessionMaterial(server.finish(exchange.mlkemCiphertext, exchange.x25519PublicKey), hello.random, random);
  const keys = deriveSessionKeys(material, hello.random, random);
  conn.startEncryption(keys.serverWrite, keys.clientWrite, keys.epoch);

  const auth = expect((await conn.next()).message, 'Auth');
  // The listener tells the client (without the reason) and logs the reason.
  const refuse = (reason: string): never => {
    throw new CairnError('QSSH_AUTH_FAILED', `authentication of user "${auth.username.slice(0, 64)}" failed: ${reason}`);
  };
  if (auth.authMethod.kind !== 'PublicKey') return refuse(`method ${auth.authMethod.kind} is not accepted (Falcon-512 public keys only)`);
  const { publicKey } = auth.authMethod;
  if (publicKey.length !== FALCON512.publicKeyBytes) return refuse(`public key of ${publicKey.length} bytes is not a Falcon-512 key`);
  const principal = options.authorize(publicKey);
  if (!principal) return refuse('the key is not in the validator registry or the reader keys');
  if (!verifyQssh(publicKey, sessionId(hello.random, random), auth.signature)) return refuse('the signature over the session id does not verify');
  await conn.send(auth);
  return { principal, username: auth.username, kex };
}
