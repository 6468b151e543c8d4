/**
 * Cairn's configuration: one zod schema, the single description of every setting. A JSON file
 * (`--config`) provides values; `CAIRN_*` environment variables override them (see
 * {@link ENVIRONMENT}). docs/CONFIG.md documents the same settings.
 */
import { validate as validCron } from 'node-cron';
import { z } from 'zod';

const cronExpression = z.string().refine((expression) => validCron(expression), 'not a valid cron expression (node-cron syntax)');
const keepLast = z.number().int().positive();
const maxAgeMs = z.number().int().positive();

const logLevel = z.enum(['debug', 'info', 'warn', 'error', 'silent']);

/** The configuration schema. Defaults give the embedded `fs` store on loopback. */
export const configSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1').describe('Address the HTTP API listens on.'),
  port: z.number().int().min(0).max(65535).default(8080).describe('HTTP port (0 picks a free one).'),
  store: z.enum(['fs', 's3']).default('fs').describe('Blob store driver: fs (local directory) or s3 (any S3-compatible service).'),
  dataDir: z.string().min(1).default('./data').describe('fs store root is `<dataDir>/objects`; generated development secrets live in `<dataDir>/dev`; the default SQLite database is `<dataDir>/cairn.sqlite`.'),
  database: z
    .string()
    .refine((url) => url.startsWith('sqlite:') ? url.length > 'sqlite:'.length : /^postgres(ql)?:\/\/[^/\s]+\/\S+$/.test(url), 'must be sqlite:<path> or postgres://user@host:port/database')
    .optional()
    .describe('Metadata database: `sqlite:<path>` (default `sqlite:<dataDir>/cairn.sqlite`, one process) or `postgres://user[:password]@host:port/database` (several processes on one bucket).'),
  s3: z
    .strictObject({
      endpoint: z.url().optional().describe('S3 endpoint URL (omit for AWS).'),
      bucket: z.string().min(3).max(63).default('cairn').describe('Bucket name.'),
      region: z.string().min(1).default('us-east-1').describe('Region.'),
      accessKeyId: z.string().min(1).optional().describe('Access key id (else the SDK default chain).'),
      secretAccessKey: z.string().min(1).optional().describe('Secret access key.'),
      forcePathStyle: z.boolean().default(false).describe('Path-style URLs (MinIO, Ceph RGW, versitygw, Garage).'),
      maxAttempts: z.number().int().min(1).max(10).default(3).describe('SDK attempts per request.'),
      payloadSigning: z
        .enum(['auto', 'signed', 'unsigned'])
        .default('auto')
        .describe('SigV4 payload hashing of uploads. `unsigned` skips a SHA-256 pass over every byte (content is sealed with ChaCha20-Poly1305 and bound to its digest, so corruption is always detected on read), but on an untrusted network only TLS keeps a man in the middle from corrupting what is stored: `auto` is unsigned on https endpoints and on loopback, signed otherwise.'),
    })
    .prefault({})
    .describe('S3 settings, used when store is s3.'),
  compression: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Compress content at rest with zstd, block by block, when it shrinks (the digest stays over the uncompressed content). Content whose first MiB does not shrink — random or already compressed bytes — is stored as it is.'),
      level: z.number().int().min(1).max(19).default(4).describe('zstd level for new content (higher: smaller, slower pushes; reads cost the same). 4 on 4 MiB blocks stores at least as small as `zstd -3` on the whole content.'),
      minSavingsPercent: z.number().int().min(1).max(90).default(10).describe('A block is stored compressed only when it shrinks by at least this many percent; the first MiB decides whether the content is compressed at all.'),
    })
    .prefault({})
    .describe('Compression at rest (zstd). Clients that send `Accept-Encoding: zstd` also get compressed content on the wire.'),
  masterKeys: z.array(z.string()).default([]).describe('Master keys `<id>:<base64 of 32 bytes>`, the first one active. Required unless development secrets are generated.'),
  adminTokens: z.array(z.string().min(16, 'admin tokens need at least 16 characters')).default([]).describe('Bearer tokens for /v1/admin routes.'),
  readToken: z.string().min(16).optional().describe('If set, reads need this bearer token (or an admin token).'),
  registryFile: z.string().optional().describe('Registry JSON that seeds the store on first start (the stored registry wins afterwards).'),
  registryRefreshMs: z.number().int().min(200).max(3_600_000).default(30_000).describe('How often the server checks the stored registry for changes made by other processes on the same bucket (one HEAD request).'),
  maxHeaderBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(4 * 1024 * 1024).describe('Largest image header accepted on push.'),
  uploadIdleTimeoutMs: z.number().int().min(1000).max(3_600_000).default(30_000).describe('A push is cut (connection closed, nothing stored) when its client delivers fewer than uploadMinBytes in this much time spent waiting for it.'),
  uploadMinBytes: z.number().int().min(0).max(1024 * 1024 * 1024).default(64 * 1024).describe('Bytes a pushing client must deliver in every uploadIdleTimeoutMs (the default, 64 KiB per 30 s, cuts silent and trickling clients alike).'),
  orphanGraceMs: z.number().int().min(0).default(10 * 60 * 1000).describe('Age after which leftovers of interrupted pushes (incomplete uploads, unreferenced blobs) are removed.'),
  cleanupIntervalMs: z.number().int().min(1000).default(15 * 60 * 1000).describe('How often the running server removes such leftovers (also done at start).'),
  startupWaitMs: z.number().int().min(0).max(3_600_000).default(60_000).describe('How long serve waits at start for an unreachable metadata database or store (retrying every second, logging each attempt) before it gives up.'),
  retention: z
    .strictObject({
      keepLast: keepLast.default(10).describe('Keep the images of this many highest heights per chain.'),
      maxAgeMs: maxAgeMs.default(7 * 24 * 3600 * 1000).describe('Images older than this (since stored) may be deleted unless another rule keeps them.'),
      graceMs: z.number().int().min(0).default(10 * 60 * 1000).describe('Time between marking an image for deletion and deleting it.'),
      schedule: cronExpression.default('0 * * * *').describe('When retention runs (node-cron expression; default hourly). Runs never overlap, also across processes (lease).'),
      chains: z
        .record(
          z.string(),
          z.strictObject({ keepLast: keepLast.optional(), maxAgeMs: maxAgeMs.optional(), schedule: cronExpression.optional() }),
        )
        .default({})
        .describe('Per-chain overrides of keepLast, maxAgeMs and schedule.'),
    })
    .prefault({})
    .describe('Retention policy (epochLength comes from the registry).'),
  qssh: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Run the QSSH listener (qssh 0.5 protocol, read-only SFTP view of the archive).'),
      host: z.string().min(1).default('127.0.0.1').describe('Address the QSSH listener binds.'),
      port: z.number().int().min(0).max(65535).default(2222).describe('QSSH port (0 picks a free one).'),
      readerKeys: z.array(z.string()).default([]).describe('Extra Falcon-512 keys (`qssh-falcon512 <base64> [name]` lines) allowed to pull besides the validators\' registry `qsshKey`s.'),
      handshakeTimeoutMs: z.number().int().min(100).max(600_000).default(10_000).describe('A client must finish the handshake (hello to authentication) within this.'),
      idleTimeoutMs: z.number().int().min(1000).default(5 * 60 * 1000).describe('Connections with no traffic for this long are closed.'),
      maxSessions: z.number().int().min(1).max(10_000).default(64).describe('Concurrent QSSH connections; more are refused.'),
      rekeyAfterFrames: z.number().int().min(16).max(2 ** 32).default(2 ** 24).describe('The server starts an in-band ML-KEM-1024 rekey after sending this many frames under one key.'),
    })
    .prefault({})
    .describe('QSSH listener settings.'),
  logLevel: logLevel.default('info').describe('Log level.'),
  devSecrets: z.boolean().default(true).describe('Generate a development master key, admin token and registry under `<dataDir>/dev` when none are configured (fs store only).'),
});

/** The validated configuration (frozen). */
export type CairnConfig = Readonly<z.output<typeof configSchema>>;

type EnvKind = 'string' | 'int' | 'bool' | 'list';

/** Environment variables and the setting each overrides. */
export const ENVIRONMENT: ReadonlyArray<{ readonly name: string; readonly path: readonly string[]; readonly kind: EnvKind }> = [
  { name: 'CAIRN_HOST', path: ['host'], kind: 'string' },
  { name: 'CAIRN_PORT', path: ['port'], kind: 'int' },
  { name: 'CAIRN_STORE', path: ['store'], kind: 'string' },
  { name: 'CAIRN_DATA_DIR', path: ['dataDir'], kind: 'string' },
  { name: 'CAIRN_DATABASE_URL', path: ['database'], kind: 'string' },
  { name: 'CAIRN_S3_ENDPOINT', path: ['s3', 'endpoint'], kind: 'string' },
  { name: 'CAIRN_S3_BUCKET', path: ['s3', 'bucket'], kind: 'string' },
  { name: 'CAIRN_S3_REGION', path: ['s3', 'region'], kind: 'string' },
  { name: 'CAIRN_S3_ACCESS_KEY_ID', path: ['s3', 'accessKeyId'], kind: 'string' },
  { name: 'CAIRN_S3_SECRET_ACCESS_KEY', path: ['s3', 'secretAccessKey'], kind: 'string' },
  { name: 'CAIRN_S3_FORCE_PATH_STYLE', path: ['s3', 'forcePathStyle'], kind: 'bool' },
  { name: 'CAIRN_S3_MAX_ATTEMPTS', path: ['s3', 'maxAttempts'], kind: 'int' },
  { name: 'CAIRN_S3_PAYLOAD_SIGNING', path: ['s3', 'payloadSigning'], kind: 'string' },
  { name: 'CAIRN_COMPRESSION_ENABLED', path: ['compression', 'enabled'], kind: 'bool' },
  { name: 'CAIRN_COMPRESSION_LEVEL', path: ['compression', 'level'], kind: 'int' },
  { name: 'CAIRN_MASTER_KEY', path: ['masterKeys'], kind: 'list' },
  { name: 'CAIRN_ADMIN_TOKEN', path: ['adminTokens'], kind: 'list' },
  { name: 'CAIRN_READ_TOKEN', path: ['readToken'], kind: 'string' },
  { name: 'CAIRN_REGISTRY_FILE', path: ['registryFile'], kind: 'string' },
  { name: 'CAIRN_REGISTRY_REFRESH_MS', path: ['registryRefreshMs'], kind: 'int' },
  { name: 'CAIRN_MAX_HEADER_BYTES', path: ['maxHeaderBytes'], kind: 'int' },
  { name: 'CAIRN_UPLOAD_IDLE_TIMEOUT_MS', path: ['uploadIdleTimeoutMs'], kind: 'int' },
  { name: 'CAIRN_UPLOAD_MIN_BYTES', path: ['uploadMinBytes'], kind: 'int' },
  { name: 'CAIRN_ORPHAN_GRACE_MS', path: ['orphanGraceMs'], kind: 'int' },
  { name: 'CAIRN_CLEANUP_INTERVAL_MS', path: ['cleanupIntervalMs'], kind: 'int' },
  { name: 'CAIRN_STARTUP_WAIT_MS', path: ['startupWaitMs'], kind: 'int' },
  { name: 'CAIRN_RETENTION_KEEP_LAST', path: ['retention', 'keepLast'], kind: 'int' },
  { name: 'CAIRN_RETENTION_MAX_AGE_MS', path: ['retention', 'maxAgeMs'], kind: 'int' },
  { name: 'CAIRN_RETENTION_GRACE_MS', path: ['retention', 'graceMs'], kind: 'int' },
  { name: 'CAIRN_RETENTION_SCHEDULE', path: ['retention', 'schedule'], kind: 'string' },
  { name: 'CAIRN_QSSH_ENABLED', path: ['qssh', 'enabled'], kind: 'bool' },
  { name: 'CAIRN_QSSH_HOST', path: ['qssh', 'host'], kind: 'string' },
  { name: 'CAIRN_QSSH_PORT', path: ['qssh', 'port'], kind: 'int' },
  { name: 'CAIRN_QSSH_READER_KEYS', path: ['qssh', 'readerKeys'], kind: 'list' },
  { name: 'CAIRN_LOG_LEVEL', path: ['logLevel'], kind: 'string' },
  { name: 'CAIRN_DEV_SECRETS', path: ['devSecrets'], kind: 'bool' },
];
