/**
 * Cairn's Prometheus metrics (prom-client), one registry per server so several servers in one
 * process (tests) do not share counters. Labels have bounded values only: route patterns (not
 * paths), error codes, rule names, transports, store operations — never digests, ids or tokens.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ArchiveEvent } from './archive/service/archive.ts';
import type { RetentionRunReport } from './retention/sweeper.ts';

/** Transports a pull or byte count can come through. */
export type Transport = 'http' | 'qssh';

/** The metric set of one server. */
export class CairnMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route'>;
  readonly errors: Counter<'code'>;
  readonly pushes: Counter<'result'>;
  readonly pulls: Counter<'transport'>;
  readonly bytesIn: Counter<'transport'>;
  readonly bytesOut: Counter<'transport'>;
  readonly events: Counter<'type'>;
  readonly attestations: Counter;
  readonly finalizations: Counter;
  readonly retentionDecisions: Counter<'rule'>;
  readonly retentionDeleted: Counter;
  readonly retentionBytesFreed: Counter;
  readonly qsshSessions: Counter<'kex'>;
  readonly qsshActive: Gauge;
  readonly qsshFailures: Counter<'reason'>;
  readonly storeDuration: Histogram<'operation' | 'outcome'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.httpRequests = new Counter({ name: 'cairn_http_requests_total', help: 'HTTP requests by method, route pattern and status.', labelNames: ['method', 'route', 'status'], registers });
    this.httpDuration = new Histogram({ name: 'cairn_http_request_duration_seconds', help: 'HTTP request latency until the response head (streamed bodies continue after).', labelNames: ['method', 'route'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers });
    this.errors = new Counter({ name: 'cairn_errors_total', help: 'Errors answered, by stable error code.', labelNames: ['code'], registers });
    this.pushes = new Counter({ name: 'cairn_pushes_total', help: 'Accepted pushes: created (new image) or deduplicated.', labelNames: ['result'], registers });
    this.pulls = new Counter({ name: 'cairn_pulls_total', help: 'Image files and contents served (HTTP GET of /file or /content, QSSH file opens).', labelNames: ['transport'], registers });
    this.bytesIn = new Counter({ name: 'cairn_bytes_in_total', help: 'Image bytes received by pushes.', labelNames: ['transport'], registers });
    this.bytesOut = new Counter({ name: 'cairn_bytes_out_total', help: 'Image bytes sent to clients.', labelNames: ['transport'], registers });
    this.events = new Counter({ name: 'cairn_archive_events_total', help: 'Archive events: image.available, image.attested (attestations), image.finalized (finalizations), image.deleted.', labelNames: ['type'], registers });
    this.attestations = new Counter({ name: 'cairn_attestations_total', help: 'Attestations added to archived images (by pushes of known images and by the attestation route).', registers });
    this.finalizations = new Counter({ name: 'cairn_finalizations_total', help: 'Images that became final (> 2/3 of the registered weight attested).', registers });
    this.retentionDecisions = new Counter({ name: 'cairn_retention_decisions_total', help: 'Retention decisions made by (non-dry) runs, by rule.', labelNames: ['rule'], registers });
    this.retentionDeleted = new Counter({ name: 'cairn_retention_deleted_images_total', help: 'Images deleted by retention.', registers });
    this.retentionBytesFreed = new Counter({ name: 'cairn_retention_bytes_freed_total', help: 'Content bytes freed by retention deletions.', registers });
    this.qsshSessions = new Counter({ name: 'cairn_qssh_sessions_total', help: 'Authenticated QSSH sessions, by key exchange.', labelNames: ['kex'], registers });
    this.qsshActive = new Gauge({ name: 'cairn_qssh_connections_active', help: 'Open QSSH connections.', registers });
    this.qsshFailures = new Counter({ name: 'cairn_qssh_failures_total', help: 'QSSH connections closed for a fault, by reason (error code, handshake_timeout, idle_timeout, too_many_sessions).', labelNames: ['reason'], registers });
    this.storeDuration = new Histogram({ name: 'cairn_store_operation_duration_seconds', help: 'Object store latency by operation (stream bodies: until the stream is open) and outcome.', labelNames: ['operation', 'outcome'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers });
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'cairn_' });
  }

  /** Counts an archive event. */
  onArchiveEvent(event: ArchiveEvent): void {
    this.events.inc({ type: event.type });
    if (event.type === 'image.attested') this.attestations.inc();
    if (event.type === 'image.finalized') this.finalizations.inc();
  }

  /** Counts a retention run's outcome. */
  onRetentionRun(report: RetentionRunReport): void {
    if (report.dryRun) return;
    for (const [rule, n] of Object.entries(report.rules)) if (n > 0) this.retentionDecisions.inc({ rule }, n);
    if (report.deleted > 0) this.retentionDeleted.inc(report.deleted);
    if (report.bytesFreed > 0) this.retentionBytesFreed.inc(report.bytesFreed);
  }

  /** The text exposition. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
