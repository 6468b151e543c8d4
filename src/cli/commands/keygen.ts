/**
 * `cairn keygen`: a new image-signing key pair (SLH-DSA / ML-DSA) or a Falcon-512 QSSH key pair
 * in qssh's own file formats.
 */
import { basename } from 'node:path';
import { Option, type Command } from 'commander';
import {
  DEFAULT_SIGNATURE_ALGORITHM,
  SIGNATURE_ALGORITHMS,
  generateFalconKey,
  generateSigningKey,
  writeKeyPair,
  writeQsshKeyPair,
  type SignatureAlgorithm,
} from '../../archive/index.ts';
import { printFields, printJson } from '../output.ts';

/** The Falcon-512 choice of `--alg`, for QSSH client keys. */
export const FALCON_ALG = 'falcon512';

interface KeygenOptions {
  alg: string;
  out: string;
  id?: string;
  force?: boolean;
  json?: boolean;
}

/** Registers `keygen` on `program`. */
export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('generate a key pair: <out> (private, mode 0600) and <out>.pub')
    .addOption(new Option('--alg <alg>', 'signature algorithm').choices([...SIGNATURE_ALGORITHMS, FALCON_ALG]).default(DEFAULT_SIGNATURE_ALGORITHM))
    .requiredOption('--out <path>', 'private key path; the public key goes to <path>.pub')
    .option('--id <validator>', 'comment stored in the .pub line, usually the validator id (default: file name)')
    .option('--force', 'overwrite existing key files')
    .option('--json', 'print the result as JSON')
    .action(async (options: KeygenOptions) => {
      const comment = options.id ?? basename(options.out).replace(/\.[^.]*$/, '');
      const overwrite = options.force ?? false;
      let result: { algorithm: string; fingerprint: string; privatePath: string; publicPath: string };
      if (options.alg === FALCON_ALG) {
        const key = generateFalconKey(comment);
        const paths = await writeQsshKeyPair(options.out, key, { overwrite });
        result = { algorithm: FALCON_ALG, fingerprint: key.publicKey.fingerprint, ...paths };
      } else {
        const key = generateSigningKey(options.alg as SignatureAlgorithm, comment);
        const paths = await writeKeyPair(options.out, key, { comment, overwrite });
        result = { algorithm: key.algorithm, fingerprint: key.publicKey.fingerprint, ...paths };
      }
      if (options.json) return printJson(result);
      printFields([
        ['algorithm', result.algorithm],
        ['private key', result.privatePath],
        ['public key', result.publicPath],
        ['fingerprint', result.fingerprint],
      ]);
    });
}
