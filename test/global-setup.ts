/**
 * Runs once before any test file: builds (or finds in the cache) the pinned MinIO, so test files
 * that start their own MinIO never race to build it.
 */
import { minioBinary } from '../minio/minio-server.ts';

export default function setup(): void {
  minioBinary();
}
