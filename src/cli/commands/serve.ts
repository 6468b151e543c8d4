/** `cairn serve`: runs the archive server until SIGINT/SIGTERM. */
import type { Command } from 'commander';
import { startServer } from '../../api/index.ts';
import { loadConfig } from '../../config/load-config.ts';
import { createLogger } from '../../logger.ts';
import { parseUint } from '../parse.ts';

interface ServeOptions {
  config?: string;
  port?: string;
  host?: string;
  data?: string;
  qsshPort?: string;
}

/** Registers `serve`. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the archive server (fs store under ./data by default; see docs/CONFIG.md)')
    .option('--config <file>', 'JSON configuration file (CAIRN_* environment variables override it)')
    .option('--port <n>', 'HTTP port (overrides config and CAIRN_PORT)')
    .option('--host <address>', 'listen address')
    .option('--data <dir>', 'data directory for the fs store and development secrets')
    .option('--qssh-port <n>', 'QSSH port (overrides config and CAIRN_QSSH_PORT)')
    .action(async (options: ServeOptions) => {
      const config = await loadConfig({
        ...(options.config ? { file: options.config } : {}),
        overrides: { port: options.port === undefined ? undefined : parseUint('port', options.port), host: options.host, dataDir: options.data, 'qssh.port': options.qsshPort === undefined ? undefined : parseUint('qssh-port', options.qsshPort) },
      });
      const logger = createLogger({ level: config.logLevel, base: { service: 'cairn' } });
      const server = await startServer(config, logger);
      process.stdout.write(`cairn: serving on ${server.url} (store: ${server.archive.store.driver}, database: ${server.archive.metadata.driver})${server.qsshPort === undefined ? '' : `; qssh on ${config.qssh.host}:${server.qsshPort}`}\n`);
      await new Promise<void>((resolve) => {
        const stop = (signal: string): void => {
          logger.info('shutting down', { signal });
          void server.close().then(resolve);
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
    });
}
