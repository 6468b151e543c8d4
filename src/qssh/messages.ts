/**
 * qssh 0.5's `Message` enum (protocol version (0,2)) and its bincode encoding, described once
 * as a schema table that drives both the encoder and the decoder. Variant order is the wire
 * order (bincode writes the declaration index), so the tables mirror
 * `qssh::transport::protocol` field by field. Values use `kind` for the variant name; a
 * newtype variant's payload is `value`.
 */
import { BincodeReader, BincodeWriter } from './bincode.ts';

/** Protocol version spoken by qssh 0.5.x. */
export const PROTOCOL_VERSION: readonly [number, number] = [0, 2];

// ---------------------------------------------------------------- schema

type Scalar = 'u8' | 'u16' | 'u32' | 'u64' | 'bool' | 'bytes' | 'string' | 'version' | 'random32';
type Type = Scalar | { readonly option: Type } | { readonly seq: Type } | { readonly tuple: readonly Type[] } | EnumSpec;
type Fields = ReadonlyArray<readonly [string, Type]>;
/** A variant: struct fields, a newtype payload, or null for a unit variant. */
type VariantShape = Fields | { readonly newtype: Type } | null;
interface EnumSpec {
  readonly name: string;
  readonly variants: ReadonlyArray<readonly [string, VariantShape]>;
}

const kexAlgorithm: EnumSpec = { name: 'KexAlgorithm', variants: [['FalconSignedShares', null], ['MlKem768', null], ['MlKem1024', null], ['HybridX25519MlKem768', null]] };
const pqAlgorithm: EnumSpec = { name: 'PqAlgorithm', variants: [['SphincsPlus', null], ['Falcon512', null], ['Falcon1024', null]] };
const extension: EnumSpec = {
  name: 'Extension',
  variants: [['MaxPacketSize', { newtype: 'u32' }], ['NoDelay', { newtype: 'bool' }], ['QkdRequired', { newtype: 'bool' }], ['Custom', { newtype: { tuple: ['string', 'bytes'] } }]],
};
const authMethod: EnumSpec = {
  name: 'AuthMethod',
  variants: [
    ['PublicKey', [['algorithm', pqAlgorithm], ['publicKey', 'bytes']]],
    ['Password', [['passwordHash', 'bytes']]],
    ['Certificate', [['certificateData', 'bytes']]],
  ],
};
const channelType: EnumSpec = {
  name: 'ChannelType',
  variants: [
    ['Session', null], ['DirectTcpIp', null], ['ForwardedTcpIp', null], ['X11', null], ['AgentForward', null],
    ['DirectTcpip', [['host', 'string'], ['port', 'u16'], ['originatorHost', 'string'], ['originatorPort', 'u16']]],
    ['ForwardedTcpip', [['connectedHost', 'string'], ['connectedPort', 'u16'], ['originatorHost', 'string'], ['originatorPort', 'u16']]],
  ],
};
const ch = ['channelId', 'u32'] as const;
const channelMessage: EnumSpec = {
  name: 'ChannelMessage',
  variants: [
    ['Open', [ch, ['channelType', channelType], ['windowSize', 'u32'], ['maxPacketSize', 'u32']]],
    ['Accept', [ch, ['senderChannel', 'u32'], ['windowSize', 'u32'], ['maxPacketSize', 'u32']]],
    ['Data', [ch, ['data', 'bytes']]],
    ['WindowAdjust', [ch, ['bytesToAdd', 'u32']]],
    ['Close', [ch]],
    ['Eof', [ch]],
    ['PtyRequest', [ch, ['term', 'string'], ['widthChars', 'u32'], ['heightChars', 'u32'], ['widthPixels', 'u32'], ['heightPixels', 'u32'], ['modes', 'bytes']]],
    ['ShellRequest', [ch]],
    ['ForwardRequest', [ch, ['remoteHost', 'string'], ['remotePort', 'u16']]],
    ['ExecRequest', [ch, ['command', 'string']]],
    ['X11Request', [ch, ['singleConnection', 'bool'], ['authProtocol', 'string'], ['authCookie', 'string'], ['screenNumber', 'u32']]],
    ['SubsystemRequest', [ch, ['subsystem', 'string']]],
    ['WindowChange', [ch, ['widthChars', 'u32'], ['heightChars', 'u32'], ['widthPixels', 'u32'], ['heightPixels', 'u32']]],
    ['ExitStatus', [ch, ['exitCode', 'u32']]],
    ['AgentForwardRequest', [ch]],
    ['AgentForwardSuccess', [ch, ['socketPath', 'string']]],
  ],
};
const globalRequestType: EnumSpec = {
  name: 'GlobalRequestType',
  variants: [['TcpipForward', [['bindHost', 'string'], ['bindPort', 'u16']]], ['CancelTcpipForward', [['bindHost', 'string'], ['bindPort', 'u16']]]],
};
const messageSpec: EnumSpec = {
  name: 'Message',
  variants: [
    ['Version', [['version', 'version'], ['software', 'string'], ['comments', 'string']]],
    ['ClientHello', [['version', 'version'], ['random', 'random32'], ['kexAlgorithms', { seq: kexAlgorithm }], ['sigAlgorithms', { seq: pqAlgorithm }], ['ciphers', { seq: 'string' }], ['qkdCapable', 'bool'], ['extensions', { seq: extension }]]],
    ['ServerHello', [
      ['version', 'version'], ['random', 'random32'], ['selectedKex', kexAlgorithm], ['selectedSig', pqAlgorithm], ['selectedCipher', 'string'],
      ['falconPublicKey', 'bytes'], ['keyShare', 'bytes'], ['keyShareSignature', 'bytes'],
      ['mlkemEncapsulationKey', { option: 'bytes' }], ['x25519PublicKey', { option: 'bytes' }], ['qkdEndpoint', { option: 'string' }], ['extensions', { seq: extension }],
    ]],
    ['KeyExchange', [
      ['falconPublicKey', 'bytes'], ['keyShare', 'bytes'], ['keyShareSignature', 'bytes'], ['sphincsPublicKey', 'bytes'],
      ['mlkemCiphertext', { option: 'bytes' }], ['x25519PublicKey', { option: 'bytes' }], ['qkdProof', { option: 'bytes' }],
    ]],
    ['Auth', [['username', 'string'], ['authMethod', authMethod], ['signature', 'bytes'], ['sessionId', 'bytes']]],
    ['Channel', { newtype: channelMessage }],
    ['Disconnect', [['reasonCode', 'u32'], ['description', 'string']]],
    ['Ping', { newtype: 'u64' }],
    ['Pong', { newtype: 'u64' }],
    ['Rekey', [['newFalconPublicKey', 'bytes'], ['newKeyShare', 'bytes'], ['newKeyShareSignature', 'bytes'], ['requestQkd', 'bool']]],
    ['GlobalRequest', [['requestType', globalRequestType], ['wantReply', 'bool']]],
    ['GlobalRequestSuccess', [['boundPort', 'u16']]],
    ['GlobalRequestFailure', null],
    ['RekeyInit', [['kemEk', 'bytes']]],
    ['RekeyReply', [['kemCt', 'bytes']]],
    ['NewKeys', null],
  ],
};

// ---------------------------------------------------------------- types

export type KexAlgorithm = 'FalconSignedShares' | 'MlKem768' | 'MlKem1024' | 'HybridX25519MlKem768';
export type PqAlgorithm = 'SphincsPlus' | 'Falcon512' | 'Falcon1024';
export type Extension =
  | { kind: 'MaxPacketSize'; value: number }
  | { kind: 'NoDelay'; value: boolean }
  | { kind: 'QkdRequired'; value: boolean }
  | { kind: 'Custom'; value: [string, Uint8Array] };
export type AuthMethod =
  | { kind: 'PublicKey'; algorithm: { kind: PqAlgorithm }; publicKey: Uint8Array }
  | { kind: 'Password'; passwordHash: Uint8Array }
  | { kind: 'Certificate'; certificateData: Uint8Array };
export type ChannelType =
  | { kind: 'Session' | 'DirectTcpIp' | 'ForwardedTcpIp' | 'X11' | 'AgentForward' }
  | { kind: 'DirectTcpip'; host: string; port: number; originatorHost: string; originatorPort: number }
  | { kind: 'ForwardedTcpip'; connectedHost: string; connectedPort: number; originatorHost: string; originatorPort: number };
export type ChannelMessage =
  | { kind: 'Open'; channelId: number; channelType: ChannelType; windowSize: number; maxPacketSize: number }
  | { kind: 'Accept'; channelId: number; senderChannel: number; windowSize: number; maxPacketSize: number }
  | { kind: 'Data'; channelId: number; data: Uint8Array }
  | { kind: 'WindowAdjust'; channelId: number; bytesToAdd: number }
  | { kind: 'Close' | 'Eof' | 'ShellRequest' | 'AgentForwardRequest'; channelId: number }
  | { kind: 'PtyRequest'; channelId: number; term: string; widthChars: number; heightChars: number; widthPixels: number; heightPixels: number; modes: Uint8Array }
  | { kind: 'ForwardRequest'; channelId: number; remoteHost: string; remotePort: number }
  | { kind: 'ExecRequest'; channelId: number; command: string }
  | { kind: 'X11Request'; channelId: number; singleConnection: boolean; authProtocol: string; authCookie: string; screenNumber: number }
  | { kind: 'SubsystemRequest'; channelId: number; subsystem: string }
  | { kind: 'WindowChange'; channelId: number; widthChars: number; heightChars: number; widthPixels: number; heightPixels: number }
  | { kind: 'ExitStatus'; channelId: number; exitCode: number }
  | { kind: 'AgentForwardSuccess'; channelId: number; socketPath: string };
type GlobalRequestType = { kind: 'TcpipForward' | 'CancelTcpipForward'; bindHost: string; bindPort: number };

export interface ClientHello {
  kind: 'ClientHello';
  version: [number, number];
  random: Uint8Array;
  kexAlgorithms: Array<{ kind: KexAlgorithm }>;
  sigAlgorithms: Array<{ kind: PqAlgorithm }>;
  ciphers: string[];
  qkdCapable: boolean;
  extensions: Extension[];
}
export interface ServerHello {
  kind: 'ServerHello';
  version: [number, number];
  random: Uint8Array;
  selectedKex: { kind: KexAlgorithm };
  selectedSig: { kind: PqAlgorithm };
  selectedCipher: string;
  falconPublicKey: Uint8Array;
  keyShare: Uint8Array;
  keyShareSignature: Uint8Array;
  mlkemEncapsulationKey: Uint8Array | undefined;
  x25519PublicKey: Uint8Array | undefined;
  qkdEndpoint: string | undefined;
  extensions: Extension[];
}
export interface KeyExchange {
  kind: 'KeyExchange';
  falconPublicKey: Uint8Array;
  keyShare: Uint8Array;
  keyShareSignature: Uint8Array;
  sphincsPublicKey: Uint8Array;
  mlkemCiphertext: Uint8Array | undefined;
  x25519PublicKey: Uint8Array | undefined;
  qkdProof: Uint8Array | undefined;
}
export interface AuthMessage {
  kind: 'Auth';
  username: string;
  authMethod: AuthMethod;
  signature: Uint8Array;
  sessionId: Uint8Array;
}

/** One qssh protocol message. */
export type Message =
  | { kind: 'Version'; version: [number, number]; software: string; comments: string }
  | ClientHello
  | ServerHello
  | KeyExchange
  | AuthMessage
  | { kind: 'Channel'; value: ChannelMessage }
  | { kind: 'Disconnect'; reasonCode: number; description: string }
  | { kind: 'Ping' | 'Pong'; value: bigint }
  | { kind: 'Rekey'; newFalconPublicKey: Uint8Array; newKeyShare: Uint8Array; newKeyShareSignature: Uint8Array; requestQkd: boolean }
  | { kind: 'GlobalRequest'; requestType: GlobalRequestType; wantReply: boolean }
  | { kind: 'GlobalRequestSuccess'; boundPort: number }
  | { kind: 'GlobalRequestFailure' | 'NewKeys' }
  | { kind: 'RekeyInit'; kemEk: Uint8Array }
  | { kind: 'RekeyReply'; kemCt: Uint8Array };

/** qssh's disconnect reason codes. */
export const DISCONNECT = { PROTOCOL_ERROR: 1, KEY_EXCHANGE_FAILED: 2, AUTHENTICATION_FAILED: 3, CONNECTION_LOST: 4, BY_APPLICATION: 5, TOO_MANY_CONNECTIONS: 6, REKEY_REQUIRED: 7 } as const;

// ---------------------------------------------------------------- codec

type Value = unknown;
type Obj = Record<string, Value>;

function write(w: BincodeWriter, type: Type, value: Value): void {
  if (typeof type === 'string') {
    switch (type) {
      case 'u8': w.u8(value as number); return;
      case 'u16': w.u16(value as number); return;
      case 'u32': w.u32(value as number); return;
      case 'u64': w.u64(value as bigint); return;
      case 'bool': w.bool(value as boolean); return;
      case 'bytes': w.bytes(value as Uint8Array); return;
      case 'string': w.string(value as string); return;
      case 'version': w.u8((value as number[])[0]!).u8((value as number[])[1]!); return;
      case 'random32': {
        const bytes = value as Uint8Array;
        if (bytes.length !== 32) throw new RangeError('random must be 32 bytes');
        w.raw(bytes);
        return;
      }
    }
  }
  if ('option' in type) { w.option(value, (ww, v) => write(ww, type.option, v)); return; }
  if ('seq' in type) { w.seq(value as Value[], (ww, v) => write(ww, type.seq, v)); return; }
  if ('tuple' in type) { type.tuple.forEach((t, i) => write(w, t, (value as Value[])[i])); return; }
  const kind = (value as Obj).kind;
  const index = type.variants.findIndex(([name]) => name === kind);
  if (index < 0) throw new RangeError(`no ${type.name} variant ${String(kind)}`);
  w.u32(index);
  const shape = type.variants[index]![1];
  if (shape === null) return;
  if ('newtype' in shape) { write(w, shape.newtype, (value as Obj).value); return; }
  for (const [name, t] of shape) write(w, t, (value as Obj)[name]);
}

function read(r: BincodeReader, type: Type, what: string): Value {
  if (typeof type === 'string') {
    switch (type) {
      case 'u8': return r.u8(what);
      case 'u16': return r.u16(what);
      case 'u32': return r.u32(what);
      case 'u64': return r.u64(what);
      case 'bool': return r.bool(what);
      case 'bytes': return r.bytes(what);
      case 'string': return r.string(what);
      case 'version': return [r.u8(what), r.u8(what)];
      case 'random32': return r.raw(32, what);
    }
  }
  if ('option' in type) return r.option((rr) => read(rr, type.option, what), what);
  if ('seq' in type) return r.seq((rr) => read(rr, type.seq, what), what);
  if ('tuple' in type) return type.tuple.map((t) => read(r, t, what));
  const index = r.variant(type.name, type.variants.length);
  const [kind, shape] = type.variants[index]!;
  if (shape === null) return { kind };
  if ('newtype' in shape) return { kind, value: read(r, shape.newtype, `${type.name}::${kind}`) };
  const out: Obj = { kind };
  for (const [name, t] of shape) out[name] = read(r, t, `${type.name}::${kind}.${name}`);
  return out;
}

/** Encodes a message (bincode 1.x). */
export function encodeMessage(message: Message): Buffer {
  const w = new BincodeWriter(message.kind === 'Channel' && message.value.kind === 'Data' ? message.value.data.length + 32 : 256);
  write(w, messageSpec, message);
  return w.finish();
}

/**
 * Decodes one message; the bytes must be exactly one message. Throws `QSSH_PROTOCOL_ERROR` on
 * anything else (unknown variants, truncation, bad lengths, invalid UTF-8, trailing bytes).
 */
export function decodeMessage(bytes: Uint8Array): Message {
  const r = new BincodeReader(bytes);
  const message = read(r, messageSpec, 'Message') as Message;
  r.finish(message.kind);
  return message;
}
