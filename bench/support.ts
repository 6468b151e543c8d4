/**
 * Helpers shared by the benchmarks: child-process measurement, content files, table printing.
 */
import { spawn } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';

/** The result line every bench worker prints. */
export interface Measurement {
  op: string;
  ms: number;
  bytes: number;
  maxRssBytes: number;
}

/** Runs a worker script on this Node and parses its JSON result line. */
export function measure(script: string, args: readonly string[]): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${script} ${args.join(' ')} exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Measurement);
    });
  });
}

/**
 * Writes `sizeBytes` of incompressible content: a ChaCha20 keystream under a random key (no
 * repeated block a compressor's window could find, unlike a random block repeated).
 */
export async function writeContentFile(path: string, sizeBytes: number): Promise<void> {
  const zeros = Buffer.alloc(1024 * 1024);
  const keystream = createCipheriv('chacha20', randomBytes(32), randomBytes(16));
  const handle = await open(path, 'w');
  try {
    for (let written = 0; written < sizeBytes; ) {
      const block = keystream.update(zeros);
      const n = Math.min(block.length, sizeBytes - written);
      await handle.write(block, 0, n, written);
      written += n;
    }
    // Flush now, so the kernel's writeback of this file does not compete with what is measured.
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** MiB/s for a measurement. */
export function throughput(m: Measurement): number {
  return m.bytes / (1024 * 1024) / (m.ms / 1000);
}

/** Formats bytes as MiB with one decimal. */
export function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** Prints a Markdown table. */
export function printTable(head: readonly string[], rows: ReadonlyArray<readonly string[]>): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
}

/** Median of numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Runs `fn` and times it. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

/** A process's peak resident set size so far (VmHWM), in bytes. */
export async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}
