/**
 * Runs once before any test file: builds (or finds in the cache) the pinned MinIO and the pinned
 * qssh release, and installs Debian's Chromium and PostgreSQL when missing, so test files that
 * use them never race to install them (or spend their hook timeouts on it). The qssh binaries' directory
 * reaches the tests through `inject('qsshBin')`.
 */
import type { TestProject } from 'vitest/node';
import { minioBinary } from '../minio/minio-server.ts';
import { postgresBinDir } from '../postgres/postgres-server.ts';
import { qsshBinDir } from '../qssh/qssh-bin.ts';
import { chromiumPath } from './support/browser.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    qsshBin: string;
  }
}

export default function setup(project: TestProject): void {
  minioBinary();
  postgresBinDir();
  project.provide('qsshBin', qsshBinDir());
  chromiumPath();
}
