/**
 * One `cairn serve` of the soak: fixed ports (so clients keep their URLs across restarts), a
 * config file, its JSON log lines handed to the soak as they come (retention decisions are
 * checked from them), and its resident memory sampled through every incarnation.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { CAIRN_BIN } from '../test/support/cli.ts';

/** How often resident memory is sampled. */
const RSS_SAMPLE_MS = 250;

/** A log line of a Cairn process, parsed. */
export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

/** A `cairn serve` the soak can SIGKILL and restart. */
export class CairnProcess {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly qsshPort: number;
  readonly configFile: string;
  #child: ChildProcess | undefined;
  #sampler: NodeJS.Timeout | undefined;
  /** Highest resident set seen, bytes, over every incarnation. */
  peakRssBytes = 0;
  starts = 0;
  /** Exits nobody asked for (crashes), each with the end of what the process wrote. */
  readonly crashes: string[] = [];
  #expectExit = false;
  #served = false;
  readonly #onLog: (process: CairnProcess, line: LogLine) => void;

  constructor(options: { name: string; port: number; qsshPort: number; configFile: string; onLog: (process: CairnProcess, line: LogLine) => void }) {
    this.name = options.name;
    this.port = options.port;
    this.url = `http://127.0.0.1:${options.port}`;
    this.qsshPort = options.qsshPort;
    this.configFile = options.configFile;
    this.#onLog = options.onLog;
  }

  /** Writes the configuration file (ports are set here). */
  async configure(config: Record<string, unknown>): Promise<void> {
    await writeFile(this.configFile, JSON.stringify({ ...config, port: this.port, qssh: { ...(config.qssh as object), port: this.qsshPort } }, null, 2));
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Starts the process; resolves once it serves. */
  async start(): Promise<void> {
    const child = spawn(process.execPath, ['--max-semi-space-size=1', CAIRN_BIN, 'serve', '--config', this.configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    this.#expectExit = false;
    this.starts++;
    const tail: string[] = [];
    // A crash is recorded with the end of its output, and the process started again, as a
    // supervisor would (once start-up succeeded: a failing start is the caller's to see).
    child.once('close', (code, signal) => {
      if (this.#expectExit) return;
      this.crashes.push(`${this.name} exited by itself (${code ?? signal}): ${tail.join(' | ').slice(-4000)}`);
      if (this.#served && this.#sampler) setTimeout(() => void this.start().catch(() => undefined), 500);
    });
    createInterface({ input: child.stderr }).on('line', (text) => {
      if (!text.startsWith('{')) {
        tail.push(text);
        if (tail.length > 30) tail.shift();
        return;
      }
      try {
        this.#onLog(this, JSON.parse(text) as LogLine);
      } catch {
        // not a log line
      }
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (/serving on http/.test(out)) resolve();
      });
      child.once('exit', (code, signal) => reject(new Error(`${this.name} exited during start-up (${code ?? signal})`)));
    });
    this.#served = true;
    this.#sampler ??= setInterval(() => void this.#sample(), RSS_SAMPLE_MS);
  }

  async #sample(): Promise<void> {
    const pid = this.running ? this.#child?.pid : undefined;
    if (!pid) return;
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    this.peakRssBytes = Math.max(this.peakRssBytes, kib * 1024);
  }

  /** Sends `signal` and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    this.#expectExit = true;
    child.kill(signal);
    await exited;
  }

  /** Stops the process for good (SIGTERM) and the sampler. */
  async stop(): Promise<void> {
    clearInterval(this.#sampler);
    this.#sampler = undefined;
    await this.kill('SIGTERM');
  }
}
