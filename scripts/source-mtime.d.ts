/** Newest mtime (ms) of `*.ts` files below `dir` (0 when there are none). */
export function newestSourceMtime(dir: string): number;
