/**
 * docs/FORMAT.md is normative: its worked example and error table must agree with the vectors
 * and the code.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors.ts';
import { IMAGE_MAGIC, MAX_HEADER_BYTES_LIMIT, SIGNATURE_ALGORITHMS, algorithmSpec } from '../../src/archive/index.ts';

const root = join(import.meta.dirname, '../..');
const format = readFileSync(join(root, 'docs/FORMAT.md'), 'utf8');
const vectors = JSON.parse(readFileSync(join(root, 'test/vectors/image-v1/vectors.json'), 'utf8')) as { valid: Array<{ name: string; digest: string; attestations: Array<{ statementHex: string }> }> };

describe('docs/FORMAT.md', () => {
  it('shows the digest and statement prefix of the worked example vector', () => {
    const example = vectors.valid.find((v) => v.name === 'raw-slh-dsa-sha2-128s')!;
    expect(format).toContain(example.digest);
    const statement = example.attestations[0]!.statementHex;
    expect(statement.startsWith('636169726e2f6174746573746174696f6e2f763100a8')).toBe(true);
    expect(format).toContain('636169726e2f6174746573746174696f6e2f7631 00');
  });

  it('states the magic, the header limit and every algorithm with its sizes', () => {
    expect(format).toContain(Buffer.from(IMAGE_MAGIC).toString('hex').toUpperCase().match(/../g)!.join(' '));
    expect(format).toContain(MAX_HEADER_BYTES_LIMIT.toLocaleString('en').replaceAll(',', ' '));
    for (const name of SIGNATURE_ALGORITHMS) {
      const spec = algorithmSpec(name);
      const row = format.split('\n').find((l) => l.startsWith(`| \`${name}\``));
      expect(row, name).toBeDefined();
      expect(row!.replaceAll(' ', '')).toContain(`${spec.publicKeyBytes}B`);
      expect(row!.replaceAll(' ', '')).toContain(`${spec.signatureBytes}B`);
    }
  });

  it('lists every format-related error code the code defines', () => {
    const formatCodes = Object.keys(ERROR_CODES).filter((c) => /^(IMAGE_|CBOR_|DIGEST_MISMATCH|SIZE_MISMATCH|SIGNATURE_|UNTRUSTED_|UNKNOWN_ALG|KEY_INVALID|QUEUE_)/.test(c));
    for (const code of formatCodes) expect(format, code).toContain(`\`${code}\``);
  });
});
