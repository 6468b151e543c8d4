/** Rewrites docs/CONFIG.md from the configuration schema. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderConfigDoc } from '../src/config/config-doc.ts';

await writeFile(join(import.meta.dirname, '..', 'docs', 'CONFIG.md'), renderConfigDoc());
