/**
 * Server authentication: the identity proof in the ServerHello and the known-hosts pinning.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../../src/archive/keys/signing.ts';
import { isCairnError } from '../../../src/errors.ts';
import { IDENTITY_EXTENSION, verifyIdentityProof, withIdentityProof } from '../../../src/qssh/identity-proof.ts';
import { checkKnownHost } from '../../../src/qssh/known-hosts.ts';
import { encodeMessage, type ServerHello } from '../../../src/qssh/messages.ts';
import { tempDir } from '../../support/fixtures.ts';

const server = generateSigningKey('ml-dsa-65', 'server');

function hello(): ServerHello {
  return {
    kind: 'ServerHello', version: [0, 2], random: randomBytes(32), selectedKex: { kind: 'MlKem1024' }, selectedSig: { kind: 'SphincsPlus' }, selectedCipher: 'aes256-gcm',
    falconPublicKey: new Uint8Array(0), keyShare: new Uint8Array(0), keyShareSignature: new Uint8Array(0),
    mlkemEncapsulationKey: randomBytes(1568), x25519PublicKey: undefined, qkdEndpoint: undefined, extensions: [{ kind: 'MaxPacketSize', value: 32768 }],
  };
}

describe('identity proof', () => {
  const clientHello = randomBytes(100);

  it('verifies for the handshake it was made for and names the server key', () => {
    const proved = withIdentityProof(hello(), clientHello, server);
    expect(proved.extensions.map((e) => (e.kind === 'Custom' ? e.value[0] : e.kind))).toEqual(['MaxPacketSize', IDENTITY_EXTENSION]);
    expect(Buffer.from(verifyIdentityProof(proved, clientHello).raw).equals(Buffer.from(server.publicKey.raw))).toBe(true);
  });

  it('fails when the KEM key, the randoms or the client hello differ, and when it is missing', () => {
    const proved = withIdentityProof(hello(), clientHello, server);
    const swappedKey = { ...proved, mlkemEncapsulationKey: randomBytes(1568) };
    const swappedRandom = { ...proved, random: randomBytes(32) };
    for (const [h, c] of [[swappedKey, clientHello], [swappedRandom, clientHello], [proved, randomBytes(100)]] as const) {
      expect(() => verifyIdentityProof(h, c)).toThrow(/does not verify/);
    }
    expect(() => verifyIdentityProof(hello(), clientHello)).toThrow(/no Cairn identity proof/);
    const garbage = { ...proved, extensions: [{ kind: 'Custom' as const, value: [IDENTITY_EXTENSION, randomBytes(40)] as [string, Uint8Array] }] };
    expect(() => verifyIdentityProof(garbage, clientHello)).toThrow(/malformed/);
  });

  it('survives the wire: encode, decode, verify', async () => {
    const { decodeMessage } = await import('../../../src/qssh/messages.ts');
    const wire = decodeMessage(encodeMessage(withIdentityProof(hello(), clientHello, server))) as ServerHello;
    expect(verifyIdentityProof(wire, clientHello).fingerprint).toBe(server.publicKey.fingerprint);
  });
});

describe('known hosts', () => {
  it('pins on first use, accepts the same key, refuses another; strict mode refuses unknown hosts', async () => {
    const path = join(await tempDir(), 'sub', 'known_hosts');
    expect(await checkKnownHost(path, 'a:2222', server.publicKey)).toBe('pinned');
    expect(await checkKnownHost(path, 'a:2222', server.publicKey)).toBe('known');
    const other = generateSigningKey('ml-dsa-65', 'other').publicKey;
    await expect(checkKnownHost(path, 'a:2222', other)).rejects.toSatisfy((e: unknown) => isCairnError(e, 'HOST_KEY_MISMATCH'));
    await expect(checkKnownHost(path, 'b:2222', other, { strict: true })).rejects.toSatisfy((e: unknown) => isCairnError(e, 'HOST_KEY_MISSING'));
    await writeFile(path, `# comment\n\n${await readFile(path, 'utf8')}`);
    expect(await checkKnownHost(path, 'a:2222', server.publicKey)).toBe('known');
  });
});
