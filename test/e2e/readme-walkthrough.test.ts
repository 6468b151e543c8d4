/**
 * The README's walkthrough, run as written (with `npx cairn` pointed at this checkout's bin).
 * Lines whose comment says "exit 1" must fail; every other line must succeed.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CAIRN_BIN } from '../support/cli.ts';
import { tempDir } from '../support/fixtures.ts';

const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');

/** The first sh block under the given heading. */
function shellBlock(heading: string): string {
  const section = readme.slice(readme.indexOf(heading));
  const match = /```sh\n([\s\S]*?)```/.exec(section);
  if (!match?.[1]) throw new Error(`no sh block under ${heading}`);
  return match[1];
}

describe('README walkthrough', () => {
  it('works as written', async () => {
    const dir = await tempDir();
    const script = shellBlock('## Five-minute walkthrough')
      .split('\n')
      .map((line) => (/#.*\bexit 1\b/.test(line) ? `{ ${line.replace(/#.*$/, '')} && exit 99 || true; }` : line))
      .join('\n');
    const result = spawnSync('bash', ['-c', `set -euo pipefail\nnpx() { shift; "${process.execPath}" "${CAIRN_BIN}" "$@"; }\n${script}`], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` },
    });
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toContain('OK: image verified');
    expect(result.stdout).toContain('not final');
    expect(result.stderr).toContain('UNTRUSTED_SIGNER');
  });
});
