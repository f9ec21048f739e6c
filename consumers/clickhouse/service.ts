// The clickhouse-writer as a Service: opens the engine (retrying while a
// server is unreachable), migrates the schema, makes sure the NETFLOW stream
// and the writer's durable consumer exist, then runs the pull loop and the
// retention job until stopped. It can share a process with other services (the
// demo runs it beside the core-extension on one chDB session).
import type { NatsConnection } from 'nats';
import type { Server } from 'node:http';
import type { Logger } from '../../common/log.js';
import { serveMetrics, type Registry } from '../../common/metrics.js';
import { connectNats } from '../../common/nats.js';
import type { Service } from '../../common/service.js';
import { CONSUMERS, ensureConsumer, ensureStream } from '../../common/stream.js';
import { PullLoop } from '../pull.js';
import type { ClickHouseWriterConfig } from './config.js';
import { conciseError, openEngine, type ClickHouseEngine } from './engine.js';
import { migrate } from './migrate.js';
import type { EncodedMessage } from './rows.js';
import { RetentionJob } from './retention.js';
import { ClickHouseWriter } from './writer.js';

export class ClickHouseWriterService implements Service {
  readonly name = 'clickhouse-writer';
  private engine: ClickHouseEngine | undefined;
  private nc: NatsConnection | undefined;
  private loop: PullLoop<EncodedMessage> | undefined;
  private retention: RetentionJob | undefined;
  private metrics: Server | undefined;
  private stopping = false;

  constructor(private readonly cfg: ClickHouseWriterConfig, private readonly log: Logger, private readonly registry: Registry) {}

  async start(): Promise<void> {
    const { cfg, log } = this;
    this.engine = await this.openUntilReady();
    if (!this.engine) return;
    log.info({ engine: this.engine.kind, version: this.engine.version, capabilities: this.engine.capabilities }, 'ClickHouse engine ready');
    const version = await migrate(this.engine, cfg.clickhouse_database, cfg.retention, log);
    log.info({ database: cfg.clickhouse_database, schema_version: version }, 'schema up to date');

    const link = await connectNats(cfg.nats_url, cfg.security, 'serviceradar-netflow-clickhouse-writer', log);
    this.nc = link.nc;
    const jsm = await this.nc.jetstreamManager();
    await ensureStream(jsm, cfg.stream, log);
    await ensureConsumer(jsm, CONSUMERS.clickhouse, { ack_wait_ms: cfg.ack_wait, max_ack_pending: cfg.max_ack_pending });

    const writer = new ClickHouseWriter(this.engine, cfg.clickhouse_database, log, this.registry);
    this.loop = new PullLoop(this.nc.jetstream(), writer, {
      durable: CONSUMERS.clickhouse,
      batchSize: cfg.batch_size,
      maxWaitMs: cfg.batch_wait,
      writer: 'clickhouse',
      prepare: writer.prepare,
      heartbeatMs: Math.floor(cfg.ack_wait / 3),
    }, log, this.registry);
    this.loop.start();

    this.retention = new RetentionJob(this.engine, cfg.clickhouse_database, cfg.retention, cfg.retention_interval, log, this.registry);
    this.retention.start();

    if (cfg.metrics_listen_addr) {
      const i = cfg.metrics_listen_addr.lastIndexOf(':');
      const host = cfg.metrics_listen_addr.slice(0, i).replace(/^\[|\]$/g, '') || '::';
      this.metrics = await serveMetrics([this.registry], host, Number(cfg.metrics_listen_addr.slice(i + 1)));
    }
    log.info({ durable: CONSUMERS.clickhouse, batch_size: cfg.batch_size, batch_wait_ms: cfg.batch_wait }, 'clickhouse-writer running');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop?.stop();
    await this.retention?.stop();
    if (this.metrics) await new Promise<void>((r) => this.metrics!.close(() => r()));
    if (this.nc) await this.nc.drain().catch(() => undefined);
    await this.engine?.close();
  }

  /** A ClickHouse server that is down at start is waited for, not a reason to exit. */
  private async openUntilReady(): Promise<ClickHouseEngine | undefined> {
    let delay = 1000;
    for (;;) {
      try {
        return await openEngine({ ...this.cfg, request_timeout_ms: this.cfg.request_timeout });
      } catch (err) {
        // chDB failing to open is not going to heal by waiting.
        if (!this.cfg.clickhouse_url) throw err;
        this.log.warn({ err: conciseError(err), retry_ms: delay }, 'ClickHouse not reachable; retrying');
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 30_000);
      if (this.stopping) return undefined;
    }
  }
}
