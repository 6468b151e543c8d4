/**
 * docs/FORMAT.md is normative: its worked example and error table must agree with the vectors
 * and the code.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors.ts';
import { IMAGE_MAGIC, MAX_HEADER_BYTES_LIMIT, SIGNATURE_ALGORITHMS, algorithmSpec, encodeHeader, type ImageHeader } from '../../src/archive/index.ts';

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

  it('states how many attestations of each algorithm fit in 4 and 16 MiB, at worst (§5.1)', () => {
    const worst = (algorithm: string, n: number): ImageHeader => ({
      chain: 'c'.repeat(64), height: 2 ** 53 - 1, digest: `sha3-256:${'0'.repeat(64)}`, size: 2 ** 53 - 1, contentType: `${'a'.repeat(64)}/${'b'.repeat(127)}`, createdAt: 2 ** 53 - 1,
      attestations: Array.from({ length: n }, (_, i) => ({ validator: `v${String(i).padStart(5, '0')}`.padEnd(64, 'x'), signedAt: 2 ** 53 - 1, algorithm: algorithm as never, signature: new Uint8Array(algorithmSpec(algorithm).signatureBytes) })),
    });
    const fit = (algorithm: string, limit: number): number => {
      let lo = 1;
      let hi = 1024;
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        if (encodeHeader(worst(algorithm, mid)).length <= limit) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    };
    const section = format.slice(format.indexOf('### 5.1'));
    for (const name of SIGNATURE_ALGORITHMS) {
      const row = section.split('\n').find((l) => l.startsWith(`| \`${name}\``))!;
      const [, , four, sixteen] = row.split('|').slice(1).map((c) => c.trim().replaceAll(' ', ''));
      expect([Number(four), Number(sixteen)], name).toEqual([fit(name, 4 * 1024 * 1024), fit(name, 16 * 1024 * 1024)]);
    }
  });
});
