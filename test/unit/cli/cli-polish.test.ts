/**
 * CLI polish: the progress bar (drawn only on a terminal) and the generated bash completion.
 */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../../src/cli/main.ts';
import { bashCompletion } from '../../../src/cli/commands/completion.ts';
import { progressBar } from '../../../src/cli/progress.ts';
import { tempDir } from '../../support/fixtures.ts';

function fakeStream(isTTY: boolean): { stream: NodeJS.WriteStream; output: () => string } {
  let out = '';
  return { stream: { isTTY, write: (s: string) => ((out += s), true) } as unknown as NodeJS.WriteStream, output: () => out };
}

describe('progress bar', () => {
  it('shows bytes, percent, throughput and ETA on a terminal, and nothing otherwise', () => {
    const tty = fakeStream(true);
    const bar = progressBar('pull', tty.stream);
    bar.update(0, 100 * 1024 * 1024);
    bar.update(100 * 1024 * 1024, 100 * 1024 * 1024);
    bar.finish();
    expect(tty.output()).toMatch(/pull \[#+\] 100% 100\.0 MiB\/100\.0 MiB [\d.]+ MiB\/s/);
    expect(tty.output()).toMatch(/ 0% 0\.0 MiB\/100\.0 MiB/);
    expect(tty.output().endsWith('\n')).toBe(true);
    const pipe = fakeStream(false);
    const quiet = progressBar('pull', pipe.stream);
    quiet.update(5, 10);
    quiet.finish();
    expect(pipe.output()).toBe('');
  });
});

describe('bash completion', () => {
  it('completes commands, subcommands and options from the command tree', async () => {
    const script = join(await tempDir(), 'cairn.bash');
    await writeFile(script, bashCompletion(buildProgram()));
    const complete = (...words: string[]): string =>
      execFileSync('bash', ['-c', `source ${script}; COMP_WORDS=(cairn ${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length}; _cairn; echo "\${COMPREPLY[*]}"`], { encoding: 'utf8' }).trim();
    expect(complete('ret')).toBe('retention');
    expect(complete('retention', 'p')).toBe('plan');
    expect(complete('pull', '--qs')).toBe('--qssh');
    expect(complete('config', '')).toContain('check');
  });
});
