import { describe, expect, it } from 'vitest';
import { formatPublicKey, formatQsshPublicKey, generateFalconKey, isQuorum, parseRegistry, registryToDocument } from '../../../src/archive/index.ts';
import { testKey } from '../../support/fixtures.ts';

describe('validator registry', () => {
  const alice = formatPublicKey(testKey('ml-dsa-44', 'alice').publicKey).trim();
  const falcon = formatQsshPublicKey(generateFalconKey('alice-node').publicKey).trim();

  it('parses a registry document and round-trips it', () => {
    const doc = { chains: { devnet: { epochLength: 100, validators: [{ id: 'alice', weight: 2, keys: [alice], qsshKey: falcon }] } } };
    const registry = parseRegistry(doc);
    const devnet = registry.chains.get('devnet')!;
    expect(devnet.totalWeight).toBe(2);
    expect(devnet.validators.get('alice')?.qsshKey?.comment).toBe('alice-node');
    expect(registryToDocument(registry)).toEqual(doc);
  });

  it('defaults epochLength to 1000', () => {
    expect(parseRegistry({ chains: { c: { validators: [{ id: 'a', weight: 1, keys: [alice] }] } } }).chains.get('c')?.epochLength).toBe(1000);
  });

  it('lists every problem at once', () => {
    try {
      parseRegistry({ chains: { 'Bad Chain': { validators: [] }, ok: { epochLength: 0, validators: [{ id: 'a', weight: -1, keys: ['nope'] }, { id: 'a', weight: 1, keys: [alice], extra: 1 }] } } });
      expect.unreachable();
    } catch (error) {
      const problems = (error as { details: { problems: string[] } }).details.problems;
      expect(problems.length).toBeGreaterThanOrEqual(5);
      expect(problems.join('\n')).toMatch(/Bad Chain/);
      expect(problems.join('\n')).toMatch(/ok\.epochLength/);
      expect(problems.join('\n')).toMatch(/weight/);
      expect(problems.join('\n')).toMatch(/not a Cairn public key line|KEY|algorithm/i);
    }
  });
});

describe('finality quorum', () => {
  it.each([
    [2, 3, false],
    [3, 3, true],
    [67, 100, true],
    [66, 100, false],
    [667, 1000, true],
    [666, 1000, false],
    [5, 7, true],
    [4, 6, false],
    [0, 0, false],
  ])('%i of %i is final: %s', (attested, total, final) => {
    expect(isQuorum(attested, total)).toBe(final);
  });
});
