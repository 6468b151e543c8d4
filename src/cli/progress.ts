/**
 * A one-line progress bar on stderr (bytes, percent, throughput, ETA), redrawn at most ten
 * times a second. Quiet when stderr is not a terminal.
 */

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Returns an `onProgress(done, total)` callback and a `finish()` that ends the line. */
export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): { update(done: number, total: number): void; finish(): void } {
  if (!stream.isTTY) return { update: () => undefined, finish: () => undefined };
  const started = Date.now();
  let startBytes: number | undefined;
  let last = 0;
  let drawn = false;
  return {
    update(done, total) {
      startBytes ??= done;
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const width = 24;
      const fraction = total > 0 ? Math.min(1, done / total) : 1;
      const filled = Math.round(fraction * width);
      const seconds = Math.max((now - started) / 1000, 0.001);
      const rate = (done - startBytes) / seconds;
      const eta = rate > 0 ? Math.ceil((total - done) / rate) : undefined;
      stream.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${mib(done)}/${mib(total)} ${mib(rate)}/s${eta === undefined ? '' : ` ETA ${eta}s`}\x1b[K`);
      drawn = true;
    },
    finish() {
      if (drawn) stream.write('\n');
    },
  };
}
