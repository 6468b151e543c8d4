/**
 * Realistic compressible content for the compression rows of `bench:peers`: what validators
 * actually snapshot is structured, and only partly random (hashes and signatures are).
 */
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { encodeQueueState, type QueueMessage } from '../src/archive/index.ts';

/** A small deterministic PRNG (xorshift32), so every run builds the same shapes. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

/** Random bytes handed out in slices of a large buffer (never reused), refilled as needed. */
function randomPool(): (n: number) => Buffer {
  let pool = randomBytes(16 * 1024 * 1024);
  let at = 0;
  return (n) => {
    if (at + n > pool.length) {
      pool = randomBytes(16 * 1024 * 1024);
      at = 0;
    }
    at += n;
    return pool.subarray(at - n, at);
  };
}

/**
 * A validator's queue state of `count` messages: votes (60 %) on the few most recent blocks
 * (block hash shared by every vote on it, 64-byte signature each), transfers between 20,000
 * accounts (39 %, signed), block imports (1 %, with their transaction hashes); provenance from
 * 100 validators, arrival times a few ms apart.
 */
export function queueStateContent(count: number): Uint8Array {
  const random = prng(7);
  const randomBytes = randomPool();
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const validators = Array.from({ length: 100 }, (_, i) => `validator-${String(i).padStart(3, '0')}`);
  const accounts = Array.from({ length: 20_000 }, () => randomBytes(20));
  const start = Date.UTC(2026, 10, 29);
  let height = 1_000_000;
  let blockHash = randomBytes(32);
  const messages: QueueMessage[] = [];
  for (let i = 0; i < count; i++) {
    if (i % 2_000 === 0) {
      height++;
      blockHash = randomBytes(32);
    }
    const r = random();
    let payload: Buffer;
    let kind: QueueMessage['kind'];
    let priority: number;
    if (r < 0.6) {
      kind = 'Vote';
      priority = 0;
      payload = Buffer.alloc(8 + 1 + 32 + 2 + 64);
      payload.writeBigUInt64BE(BigInt(height), 0);
      payload[8] = Math.floor(random() * 3);
      blockHash.copy(payload, 9);
      payload.writeUInt16BE(Math.floor(random() * 100), 41);
      randomBytes(64).copy(payload, 43);
    } else if (r < 0.99) {
      kind = 'Transaction';
      priority = 2 + Math.floor(random() * 8);
      payload = Buffer.alloc(20 + 20 + 4 + 8 + 4 + 64);
      pick(accounts).copy(payload, 0);
      pick(accounts).copy(payload, 20);
      payload.writeUInt32BE(Math.floor(random() * 5_000), 40);
      payload.writeBigUInt64BE(BigInt(Math.floor(random() * 1e6) * 1_000_000), 44);
      payload.writeUInt32BE(21_000, 52);
      randomBytes(64).copy(payload, 56);
    } else {
      kind = 'BlockImport';
      priority = 1;
      payload = Buffer.concat([blockHash, randomBytes(64), Buffer.from(JSON.stringify({ height, proposer: pick(validators), timestamp: start + i * 3 })), randomBytes(32 * 20)]);
    }
    messages.push({ kind, priority, payload, provenance: { origin: pick(validators), receivedAt: start + i * 3 + Math.floor(random() * 3), sequence: i } });
  }
  return encodeQueueState(messages);
}

/**
 * `bytes` of database-like pages (4 KiB, B-tree leaf style): a page header, a cell pointer
 * array, rows packed from the end of the page (row id, account name, balance, timestamps, a
 * status word, a 32-byte hash), 70–95 % full, the free middle zeroed.
 */
export async function writeDatabasePages(path: string, bytes: number): Promise<void> {
  const random = prng(11);
  const randomBytes = randomPool();
  const statuses = ['active', 'pending', 'closed', 'frozen', 'migrated'];
  const PAGE = 4096;
  const batch = Buffer.alloc(256 * PAGE);
  const handle = await open(path, 'w');
  let rowid = 1;
  try {
    for (let written = 0; written < bytes; ) {
      batch.fill(0);
      for (let p = 0; p < 256; p++) {
        const page = batch.subarray(p * PAGE, (p + 1) * PAGE);
        const fill = PAGE * (0.7 + random() * 0.25);
        let end = PAGE;
        let cells = 0;
        while (PAGE - end + 8 + 2 * cells < fill) {
          const row = Buffer.from(`${rowid}|acct-${String(Math.floor(random() * 50_000)).padStart(6, '0')}|${Math.floor(random() * 1e9)}|${1_790_000_000 + rowid * 7}|${statuses[Math.floor(random() * statuses.length)]}|`);
          const cell = Buffer.concat([row, randomBytes(32)]);
          if (end - cell.length < 8 + 2 * (cells + 1)) break;
          end -= cell.length;
          cell.copy(page, end);
          page.writeUInt16BE(end, 8 + 2 * cells);
          cells++;
          rowid++;
        }
        page[0] = 0x0d;
        page.writeUInt16BE(cells, 3);
        page.writeUInt16BE(end, 5);
      }
      const n = Math.min(batch.length, bytes - written);
      await handle.write(batch, 0, n, written);
      written += n;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}
