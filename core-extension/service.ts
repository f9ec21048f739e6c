// The core-extension as one Service: the two tiers (ClickHouse through the
// shared engine module, DuckDB over the Iceberg table), the planner, the HTTP
// API with the UI, and the poller's gRPC check. The demo composes it with the
// writers in one process (sharing chDB's session); packages run it alone.
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JetStreamManager } from 'nats';
import { openEngine, type ClickHouseEngine } from '../consumers/clickhouse/engine.js';
import { openCatalog } from '../consumers/iceberg/catalog.js';
import type { Catalog } from '../consumers/iceberg/catalog.js';
import type { CheckerServer } from '../common/grpc.js';
import type { Logger } from '../common/log.js';
import { createRegistry, type Registry } from '../common/metrics.js';
import { connectNats, type NatsLink } from '../common/nats.js';
import type { Service } from '../common/service.js';
import { Auth } from './api/auth.js';
import { createHttpServer } from './api/http.js';
import type { CoreConfig } from './config.js';
import { startPollerServer } from './grpc/poller.js';
import { PipelineStatus } from './grpc/status.js';
import { ClickHouseTier } from './query/clickhouse.js';
import { DuckDb, IcebergTier } from './query/iceberg.js';
import { Planner } from './query/planner.js';

/** The UI's static export in the source tree or package: <root>/core-extension/ui/out. */
const BUNDLED_UI = fileURLToPath(new URL('../../core-extension/ui/out/', import.meta.url));

/** Flows that arrive this long after newer ones were committed still count: see IcebergTier. */
const STITCH_MARGIN_MS = 60_000;

export class CoreService implements Service {
  readonly name = 'core-extension';
  readonly registry: Registry;
  private ch: ClickHouseEngine | undefined;
  private duck: DuckDb | undefined;
  private catalog: Catalog | undefined;
  private nats: NatsLink | undefined;
  private jsm: JetStreamManager | undefined;
  private http: Server | undefined;
  private grpc: CheckerServer | undefined;
  /** Bound ports, once started (useful with port 0). */
  httpPort = 0;
  grpcPort = 0;

  constructor(private readonly cfg: CoreConfig, private readonly log: Logger) {
    this.registry = createRegistry('core-extension');
  }

  async start(): Promise<void> {
    const n = this.cfg.netflow;
    this.ch = await openEngine({
      clickhouse_url: n.clickhouse_url, clickhouse_user: n.clickhouse_user, clickhouse_password: n.clickhouse_password,
      clickhouse_data_dir: n.clickhouse_data_dir, clickhouse_tls: n.clickhouse_tls, request_timeout_ms: n.query_timeout + 5000,
    });
    this.duck = await DuckDb.open({ threads: n.duckdb_threads, memoryLimit: n.duckdb_memory_limit });
    this.catalog = await openCatalog({ iceberg_catalog: n.iceberg_catalog, iceberg_table: n.iceberg_table, output_path: n.iceberg_path, iceberg_token: n.iceberg_token, iceberg_warehouse: n.iceberg_warehouse });
    const cold = new IcebergTier(this.catalog, this.duck, { marginMs: STITCH_MARGIN_MS });
    const planner = new Planner({
      hot: new ClickHouseTier(this.ch, n.clickhouse_database), cold,
      realtimeThresholdMs: n.realtime_threshold, timeoutMs: n.query_timeout, maxConcurrent: n.max_concurrent_queries, log: this.log,
    });
    if (n.nats_url) {
      // Not waiting: the API serves queries while NATS is away; the status says so.
      this.nats = await connectNats(n.nats_url, this.cfg.security, 'serviceradar-netflow-core', this.log, { waitOnFirstConnect: false });
      this.nats.nc.jetstreamManager().then((m) => { this.jsm = m; }, (err) => this.log.warn({ err: (err as Error).message }, 'no JetStream; writer lag not reported'));
    }
    const status = new PipelineStatus({ planner, cold, jsm: () => this.jsm, stallAfterMs: n.stall_after, log: this.log });
    const auth = new Auth(this.cfg.users, this.cfg.api_tokens, this.cfg.http.session_ttl);
    if (!this.cfg.users.length && !this.cfg.api_tokens.length) this.log.warn('no users or api_tokens configured: every /api/netflow request will get 401');
    this.http = createHttpServer({
      auth, registry: this.registry, log: this.log, secureCookies: this.cfg.http.secure_cookies, uiDir: this.uiDir(),
      maxConcurrentQueries: n.max_concurrent_queries, queryWaitMs: n.query_timeout,
      backend: { query: (q) => planner.run(q), status: async () => (await status.get()).message },
    });
    this.httpPort = await listen(this.http, this.cfg.http.listen_addr);
    this.grpc = await startPollerServer({ listen: this.cfg.grpc.listen_addr, security: this.cfg.security, serviceName: this.cfg.grpc.service_name, status, log: this.log });
    this.grpcPort = this.grpc.port;
    this.log.info({ http: this.cfg.http.listen_addr, http_port: this.httpPort, grpc_port: this.grpcPort, clickhouse: this.ch.kind, clickhouse_version: this.ch.version, iceberg: this.catalog.describe }, 'core-extension listening');
  }

  /** The configured UI folder, or the export built beside this code; undefined (no UI) when absent. */
  private uiDir(): string | undefined {
    const dir = this.cfg.http.ui_dir || BUNDLED_UI;
    if (existsSync(join(dir, 'index.html'))) return dir;
    this.log.warn({ ui_dir: dir }, 'no web UI there (build it with npm run build:ui); serving the API only');
    return undefined;
  }

  async stop(): Promise<void> {
    await this.grpc?.stop();
    if (this.http) {
      const http = this.http;
      await new Promise<void>((resolve) => { http.close(() => resolve()); http.closeAllConnections(); });
    }
    await this.nats?.nc.close().catch(() => undefined);
    await this.catalog?.close?.();
    this.duck?.close();
    await this.ch?.close();
    this.grpc = undefined; this.http = undefined; this.nats = undefined; this.jsm = undefined; this.duck = undefined; this.ch = undefined;
  }
}

function listen(server: Server, addr: string): Promise<number> {
  const i = addr.lastIndexOf(':');
  const host = addr.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(addr.slice(i + 1));
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(new Error(err.code === 'EADDRINUSE' ? `http.listen_addr ${addr}: port ${port} is in use; set another in core.json` : `http.listen_addr ${addr}: ${err.message}`));
    server.once('error', onError);
    server.listen(port, host || undefined, () => {
      server.off('error', onError);
      resolve((server.address() as { port: number }).port);
    });
  });
}
