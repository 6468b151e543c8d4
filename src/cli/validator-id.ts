/** The validator id a command acts as: `--validator`, else the comment of `<key>.pub`. */
import { readFile } from 'node:fs/promises';
import { parsePublicKeys } from '../archive/index.ts';
import { CairnError } from '../errors.ts';

/** Resolves the validator id for `keyPath`; `INVALID_ARGUMENT` when neither source gives one. */
export async function validatorIdFor(keyPath: string, explicit: string | undefined): Promise<string> {
  if (explicit) return explicit;
  const pub = await readFile(`${keyPath}.pub`, 'utf8').catch(() => undefined);
  const comment = pub ? parsePublicKeys(pub)[0]?.comment : undefined;
  if (!comment) throw new CairnError('INVALID_ARGUMENT', `--validator is required (no comment in ${keyPath}.pub to take it from)`);
  return comment;
}
