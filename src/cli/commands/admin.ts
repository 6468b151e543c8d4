/** `cairn admin rotate-key | reindex | reconcile`: maintenance that runs directly on the store and database (same configuration as serve). */
import type { Command } from 'commander';
import { parseKeyring } from '../../archive/crypto/keyring.ts';
import { reconcile, rotateDataKeys } from '../../archive/service/maintenance.ts';
import { reindex } from '../../archive/index.ts';
import { openConfiguredArchive } from '../../api/index.ts';
import { loadConfig } from '../../config/load-config.ts';
import { resolveSecrets } from '../../config/dev-secrets.ts';
import { createLogger } from '../../logger.ts';
import { printJson } from '../output.ts';

interface AdminOptions {
  config?: string;
  data?: string;
  json?: boolean;
}

const withConfig = (command: Command): Command =>
  command.option('--config <file>', 'JSON configuration file (CAIRN_* environment variables override it)').option('--data <dir>', 'data directory (fs store, default SQLite database)').option('--json', 'print the result as JSON');

async function open(options: AdminOptions, claimBucket = false): Promise<{ archive: Awaited<ReturnType<typeof openConfiguredArchive>>; keyring: ReturnType<typeof parseKeyring>; orphanGraceMs: number }> {
  const config = await loadConfig({ ...(options.config ? { file: options.config } : {}), overrides: { dataDir: options.data } });
  const logger = createLogger({ level: 'warn' });
  const secrets = await resolveSecrets(config);
  // reindex does the import itself (and reports it); nothing is imported behind its back.
  return { archive: await openConfiguredArchive(config, secrets, logger, { claimBucket, autoImport: !claimBucket }), keyring: parseKeyring(secrets.masterKeys), orphanGraceMs: config.orphanGraceMs };
}

/** Registers `admin`. */
export function registerAdminCommands(program: Command): void {
  const admin = program.command('admin').description('maintenance that runs directly on the store and the metadata database (same configuration as serve)');
  withConfig(admin.command('rotate-key').description('rewrap every data key under the active (first) master key; content is not re-encrypted')).action(async (options: AdminOptions) => {
    const { archive, keyring } = await open(options);
    try {
      const report = await rotateDataKeys(archive, keyring, createLogger({ level: 'warn' }));
      if (options.json) return printJson({ activeKeyId: keyring.activeId, ...report });
      process.stdout.write(`rewrapped ${report.rewrapped} data keys under master key "${keyring.activeId}" (${report.alreadyCurrent} already current)\n`);
    } finally {
      await archive.close();
    }
  });
  withConfig(admin.command('reindex').description("rebuild the metadata database from the bucket and make it the bucket's index (resumable: run it again after an interruption)")).action(async (options: AdminOptions) => {
    const { archive } = await open(options, true);
    try {
      // The number of records is not known before the listing ends: count them as they go.
      const tty = !options.json && process.stderr.isTTY;
      let last = 0;
      const report = await reindex(archive, {
        logger: createLogger({ level: 'warn' }),
        onProgress: (r) => {
          if (!tty || Date.now() - last < 100) return;
          last = Date.now();
          process.stderr.write(`\rreindex: ${r.adopted + r.present + r.skipped} records (${r.adopted} indexed)\x1b[K`);
        },
      });
      if (tty) process.stderr.write('\n');
      if (options.json) return printJson(report);
      process.stdout.write(`indexed ${report.adopted} images (${report.attestations} attestations); ${report.present} were already indexed, ${report.skipped} skipped\n`);
    } finally {
      await archive.close();
    }
  });
  withConfig(
    admin.command('reconcile').description('now, instead of at the next cleanup of a server: finish deletions and index image records a crash interrupted, and remove leftovers of interrupted pushes older than orphanGraceMs'),
  ).action(async (options: AdminOptions) => {
    const { archive, orphanGraceMs } = await open(options);
    try {
      const { deletionsFinished, indexed, removed } = await reconcile(archive, { graceMs: orphanGraceMs, logger: createLogger({ level: 'warn' }) });
      if (options.json) return printJson({ orphanGraceMs, deletionsFinished, indexed, removed });
      process.stdout.write(`finished ${deletionsFinished} deletions a crash interrupted; indexed ${indexed.adopted} images a crash left unindexed (${indexed.skipped} younger than ${orphanGraceMs} ms or unreadable, skipped); removed ${removed.abortedUploads} incomplete uploads, ${removed.orphanBlobs} unreferenced blobs, ${removed.orphanAttestations} records of deleted images\n`);
    } finally {
      await archive.close();
    }
  });
}
