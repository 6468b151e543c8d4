/** The metadata database: the archive's index and coordination point (see metadata-store.ts). */
export type { DeletionRow, EventRow, ImageRow, MetadataStore, PageQuery, PlanRow } from './metadata-store.ts';
export { openMetadata, describeDatabaseUrl, type OpenMetadataOptions } from './open-metadata.ts';
export { SCHEMA_VERSION } from './migrations.ts';
