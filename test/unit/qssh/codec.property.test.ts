/**
 * The qssh message codec (bincode) and the SFTP v3 packet codec: known encodings, round trips
 * for arbitrary values, and hostile bytes that must only ever produce QSSH_PROTOCOL_ERROR.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CairnError } from '../../../src/errors.ts';
import { decodeMessage, encodeMessage, type Message } from '../../../src/qssh/messages.ts';
import { PacketReader, decodeRequest, decodeResponse, encodeRequest, encodeResponse, type Attrs, type SftpRequest, type SftpResponse } from '../../../src/qssh/sftp/packets.ts';
import { normalizePath } from '../../../src/qssh/sftp/virtual-tree.ts';

const u8 = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const bytes = fc.uint8Array({ maxLength: 64 });
const text = fc.string({ maxLength: 24, unit: 'grapheme' });
const option = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });
const kex = fc.constantFrom('FalconSignedShares', 'MlKem768', 'MlKem1024', 'HybridX25519MlKem768').map((kind) => ({ kind }));
const sig = fc.constantFrom('SphincsPlus', 'Falcon512', 'Falcon1024').map((kind) => ({ kind }));
const extension = fc.oneof(
  u32.map((value) => ({ kind: 'MaxPacketSize', value })),
  fc.boolean().map((value) => ({ kind: 'NoDelay', value })),
  fc.boolean().map((value) => ({ kind: 'QkdRequired', value })),
  fc.tuple(text, bytes).map((value) => ({ kind: 'Custom', value })),
);
const ch = { channelId: u32 };
const channelType = fc.oneof(
  fc.constantFrom('Session', 'DirectTcpIp', 'ForwardedTcpIp', 'X11', 'AgentForward').map((kind) => ({ kind })),
  fc.record({ kind: fc.constant('DirectTcpip'), host: text, port: u16, originatorHost: text, originatorPort: u16 }),
  fc.record({ kind: fc.constant('ForwardedTcpip'), connectedHost: text, connectedPort: u16, originatorHost: text, originatorPort: u16 }),
);
const channel = fc.oneof(
  fc.record({ kind: fc.constant('Open'), ...ch, channelType, windowSize: u32, maxPacketSize: u32 }),
  fc.record({ kind: fc.constant('Accept'), ...ch, senderChannel: u32, windowSize: u32, maxPacketSize: u32 }),
  fc.record({ kind: fc.constant('Data'), ...ch, data: bytes }),
  fc.record({ kind: fc.constant('WindowAdjust'), ...ch, bytesToAdd: u32 }),
  fc.record({ kind: fc.constantFrom('Close', 'Eof', 'ShellRequest', 'AgentForwardRequest'), ...ch }),
  fc.record({ kind: fc.constant('PtyRequest'), ...ch, term: text, widthChars: u32, heightChars: u32, widthPixels: u32, heightPixels: u32, modes: bytes }),
  fc.record({ kind: fc.constant('ForwardRequest'), ...ch, remoteHost: text, remotePort: u16 }),
  fc.record({ kind: fc.constant('ExecRequest'), ...ch, command: text }),
  fc.record({ kind: fc.constant('X11Request'), ...ch, singleConnection: fc.boolean(), authProtocol: text, authCookie: text, screenNumber: u32 }),
  fc.record({ kind: fc.constant('SubsystemRequest'), ...ch, subsystem: text }),
  fc.record({ kind: fc.constant('WindowChange'), ...ch, widthChars: u32, heightChars: u32, widthPixels: u32, heightPixels: u32 }),
  fc.record({ kind: fc.constant('ExitStatus'), ...ch, exitCode: u32 }),
  fc.record({ kind: fc.constant('AgentForwardSuccess'), ...ch, socketPath: text }),
);
const version = fc.tuple(u8, u8);
const random = fc.uint8Array({ minLength: 32, maxLength: 32 });
const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ kind: fc.constant('Version'), version, software: text, comments: text }),
  fc.record({ kind: fc.constant('ClientHello'), version, random, kexAlgorithms: fc.array(kex, { maxLength: 4 }), sigAlgorithms: fc.array(sig, { maxLength: 3 }), ciphers: fc.array(text, { maxLength: 3 }), qkdCapable: fc.boolean(), extensions: fc.array(extension, { maxLength: 3 }) }),
  fc.record({
    kind: fc.constant('ServerHello'), version, random, selectedKex: kex, selectedSig: sig, selectedCipher: text, falconPublicKey: bytes, keyShare: bytes, keyShareSignature: bytes,
    mlkemEncapsulationKey: option(bytes), x25519PublicKey: option(bytes), qkdEndpoint: option(text), extensions: fc.array(extension, { maxLength: 3 }),
  }),
  fc.record({ kind: fc.constant('KeyExchange'), falconPublicKey: bytes, keyShare: bytes, keyShareSignature: bytes, sphincsPublicKey: bytes, mlkemCiphertext: option(bytes), x25519PublicKey: option(bytes), qkdProof: option(bytes) }),
  fc.record({
    kind: fc.constant('Auth'), username: text,
    authMethod: fc.oneof(fc.record({ kind: fc.constant('PublicKey'), algorithm: sig, publicKey: bytes }), fc.record({ kind: fc.constant('Password'), passwordHash: bytes }), fc.record({ kind: fc.constant('Certificate'), certificateData: bytes })),
    signature: bytes, sessionId: bytes,
  }),
  channel.map((value) => ({ kind: 'Channel', value })),
  fc.record({ kind: fc.constant('Disconnect'), reasonCode: u32, description: text }),
  fc.record({ kind: fc.constantFrom('Ping', 'Pong'), value: u64 }),
  fc.record({ kind: fc.constant('Rekey'), newFalconPublicKey: bytes, newKeyShare: bytes, newKeyShareSignature: bytes, requestQkd: fc.boolean() }),
  fc.record({ kind: fc.constant('GlobalRequest'), requestType: fc.record({ kind: fc.constantFrom('TcpipForward', 'CancelTcpipForward'), bindHost: text, bindPort: u16 }), wantReply: fc.boolean() }),
  fc.record({ kind: fc.constant('GlobalRequestSuccess'), boundPort: u16 }),
  fc.constantFrom('GlobalRequestFailure', 'NewKeys').map((kind) => ({ kind })),
  fc.record({ kind: fc.constant('RekeyInit'), kemEk: bytes }),
  fc.record({ kind: fc.constant('RekeyReply'), kemCt: bytes }),
) as fc.Arbitrary<Message>;

/** Runs `fn`; anything thrown must be a QSSH_PROTOCOL_ERROR. */
function onlyProtocolErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CairnError);
    expect((error as CairnError).code).toBe('QSSH_PROTOCOL_ERROR');
  }
}

/** Normalises typed arrays so Buffer and Uint8Array compare equal. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return [...value];
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

describe('qssh message codec (bincode 1.x)', () => {
  it('encodes like bincode: u32 LE variant, fixed-width LE integers, u64 lengths, option tags', () => {
    expect(encodeMessage({ kind: 'Ping', value: 1n }).toString('hex')).toBe('07000000' + '0100000000000000');
    expect(encodeMessage({ kind: 'NewKeys' }).toString('hex')).toBe('0f000000');
    expect(encodeMessage({ kind: 'Disconnect', reasonCode: 3, description: 'no' }).toString('hex')).toBe('06000000' + '03000000' + '0200000000000000' + '6e6f');
    expect(encodeMessage({ kind: 'Channel', value: { kind: 'Data', channelId: 258, data: Uint8Array.of(0) } }).toString('hex')).toBe('05000000' + '02000000' + '02010000' + '0100000000000000' + '00');
    expect(encodeMessage({ kind: 'RekeyReply', kemCt: Uint8Array.of(9) }).toString('hex')).toBe('0e000000' + '0100000000000000' + '09');
  });

  it('decode(encode(x)) = x for every message', () => {
    fc.assert(fc.property(message, (m) => {
          expect(plain(decodeMessage(encodeMessage(m)))).toEqual(plain(m));
        }), { numRuns: 2000 });
  });

  it('random bytes never crash the decoder: a message or QSSH_PROTOCOL_ERROR', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), (b) => onlyProtocolErrors(() => decodeMessage(b))), { numRuns: 5000 });
  });

  it('truncated, extended and bit-flipped encodings are refused or decode to a well-formed message', () => {
    fc.assert(
      fc.property(message, fc.nat(), fc.nat(), (m, cut, flip) => {
        const encoded = encodeMessage(m);
        const truncated = encoded.subarray(0, cut % encoded.length);
        expect(() => decodeMessage(truncated)).toThrow(CairnError);
        expect(() => decodeMessage(Buffer.concat([encoded, Buffer.of(0)]))).toThrow(/trailing bytes/);
        const flipped = Buffer.from(encoded);
        flipped[flip % flipped.length]! ^= 1 << (flip % 8);
        onlyProtocolErrors(() => decodeMessage(flipped));
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses lengths larger than the bytes present before allocating', () => {
    const vec = Buffer.from('0d000000' + 'ffffffffffffffff', 'hex'); // RekeyInit with a 2^64-1 byte key
    expect(() => decodeMessage(vec)).toThrow(/exceeds the 0 bytes left/);
    expect(() => decodeMessage(Buffer.from('04000000' + '0100000000000000' + 'ff', 'hex'))).toThrow(/not UTF-8/);
    expect(() => decodeMessage(Buffer.from('1000000000', 'hex'))).toThrow(/unknown Message variant 16/);
    expect(() => decodeMessage(Buffer.from('01000000' + '0002' + '00'.repeat(32) + '0100000000000000' + '07000000', 'hex'))).toThrow(/unknown KexAlgorithm variant 7/);
  });
});

const attrs: fc.Arbitrary<Attrs> = fc
  .record({ size: option(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })), ids: option(fc.tuple(u32, u32)), permissions: option(u32), times: option(fc.tuple(u32, u32)) })
  .map(({ size, ids, permissions, times }) => ({
    ...(size === undefined ? {} : { size }),
    ...(ids ? { uid: ids[0], gid: ids[1] } : {}),
    ...(permissions === undefined ? {} : { permissions }),
    ...(times ? { atime: times[0], mtime: times[1] } : {}),
  }));
const id = u32;
const path = fc.string({ maxLength: 40 });
const offset = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const request: fc.Arbitrary<SftpRequest> = fc.oneof(
  fc.record({ type: fc.constant('open'), id, path, pflags: u32, attrs }),
  fc.record({ type: fc.constantFrom('close', 'fstat', 'readdir'), id, handle: path }),
  fc.record({ type: fc.constant('read'), id, handle: path, offset, length: u32 }),
  fc.record({ type: fc.constant('write'), id, handle: path, offset, data: bytes }),
  fc.record({ type: fc.constantFrom('lstat', 'stat', 'opendir', 'remove', 'rmdir', 'realpath', 'readlink'), id, path }),
  fc.record({ type: fc.constantFrom('setstat', 'mkdir'), id, path, attrs }),
  fc.record({ type: fc.constant('fsetstat'), id, handle: path, attrs }),
  fc.record({ type: fc.constantFrom('rename', 'symlink'), id, path, target: path }),
);
const response: fc.Arbitrary<SftpResponse> = fc.oneof(
  fc.record({ type: fc.constant('status'), id, code: fc.integer({ min: 0, max: 8 }), message: text }),
  fc.record({ type: fc.constant('handle'), id, handle: path }),
  fc.record({ type: fc.constant('data'), id, data: bytes }),
  fc.record({ type: fc.constant('name'), id, entries: fc.array(fc.record({ filename: path, longname: text, attrs }), { maxLength: 4 }) }),
  fc.record({ type: fc.constant('attrs'), id, attrs }),
);

describe('SFTP v3 packets', () => {
  it('round-trips requests and responses', () => {
    fc.assert(fc.property(request, (r) => {
          expect(plain(decodeRequest(encodeRequest(r)))).toEqual(plain(r));
        }), { numRuns: 2000 });
    fc.assert(fc.property(response, (r) => {
          expect(plain(decodeResponse(encodeResponse(r)))).toEqual(plain(r));
        }), { numRuns: 2000 });
  });

  it('decodes known bytes: a READ as qscp sends it', () => {
    const read = Buffer.from('00000017' + '05' + '00000002' + '00000002' + '6831' + '0000000000008000' + '00008000', 'hex');
    expect(decodeRequest(read)).toEqual({ type: 'read', id: 2, handle: 'h1', offset: 32768, length: 32768 });
  });

  it('random bytes never crash the decoders', () => {
    const withLength = fc.uint8Array({ maxLength: 128 }).map((b) => {
      const out = Buffer.alloc(4 + b.length);
      out.writeUInt32BE(b.length, 0);
      out.set(b, 4);
      return out;
    });
    fc.assert(fc.property(withLength, (p) => onlyProtocolErrors(() => decodeRequest(p))), { numRuns: 5000 });
    fc.assert(fc.property(withLength, (p) => onlyProtocolErrors(() => decodeResponse(p))), { numRuns: 5000 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)), (p) => onlyProtocolErrors(() => decodeRequest(p))), { numRuns: 2000 });
  });

  it('reassembles packets from any chunking and refuses over-long lengths up front', () => {
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 6 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }), (requests, cuts) => {
        const stream = Buffer.concat(requests.map(encodeRequest));
        const reader = new PacketReader(64 * 1024);
        const got: SftpRequest[] = [];
        let at = 0;
        for (let i = 0; at < stream.length; i++) {
          const n = cuts[i % cuts.length]!;
          reader.push(stream.subarray(at, at + n));
          at += n;
          for (let p = reader.next(); p; p = reader.next()) got.push(decodeRequest(p) as SftpRequest);
        }
        expect(plain(got)).toEqual(plain(requests));
        expect(reader.buffered).toBe(0);
      }),
      { numRuns: 300 },
    );
    const reader = new PacketReader(1024);
    reader.push(Buffer.from([0, 0, 4, 1]));
    expect(() => reader.next()).toThrow(/packet length 1025 exceeds the 1024-byte limit/);
  });

  it('normalises paths and refuses climbing above the root', () => {
    expect(normalizePath('devnet//./1000/../latest')).toBe('/devnet/latest');
    expect(normalizePath('')).toBe('/');
    expect(() => normalizePath('/devnet/../../x')).toThrow(/path traversal/);
    expect(() => normalizePath('/a\0b')).toThrow(/NUL/);
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', '.', '..', ''), { maxLength: 12 }), (parts) => {
        try {
          const p = normalizePath(parts.join('/'));
          expect(p.startsWith('/')).toBe(true);
          expect(p.split('/')).not.toContain('..');
        } catch (error) {
          expect((error as CairnError).code).toBe('QSSH_PROTOCOL_ERROR');
        }
      }),
    );
  });
});
