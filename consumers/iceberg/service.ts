// The parquet-writer service: its durable consumer on NETFLOW, the pull loop
// feeding the Iceberg writer, and the maintenance schedule (compaction,
// retention, orphan sweep), one job at a time.
import type { Server } from 'node:http';
import type { JetStreamManager } from 'nats';
import { nanos } from 'nats';
import type { Logger } from '../../common/log.js';
import { createRegistry, serveMetrics, type Registry } from '../../common/metrics.js';
import { connectNats, type NatsLink } from '../../common/nats.js';
import type { Service } from '../../common/service.js';
import { CONSUMERS, ensureConsumer, ensureStream, STREAM } from '../../common/stream.js';
import { PullLoop } from '../pull.js';
import { loadOrCreate, openCatalog, type Catalog } from './catalog.js';
import { compact } from './compaction.js';
import type { ParquetWriterConfig } from './config.js';
import { ParquetWriter, type ParquetOptions } from './parquet.js';
import { applyRetention, removeOrphans } from './retention.js';
import { rollupCatalog } from './rollup.js';
import { checkTableLayout } from './schema.js';
import type { PreparedFlows } from './columns.js';
import { IcebergWriter } from './writer.js';

export class ParquetWriterService implements Service {
  readonly name = 'parquet-writer';
  readonly registry: Registry;
  private link: NatsLink | undefined;
  private loop: PullLoop<PreparedFlows> | undefined;
  private parquet: ParquetWriter | undefined;
  private catalog: Catalog | undefined;
  private metrics: Server | undefined;
  private timers: NodeJS.Timeout[] = [];
  private maintenance: Promise<void> = Promise.resolve();
  private stopping = false;

  constructor(private readonly config: ParquetWriterConfig, private readonly log: Logger) {
    this.registry = createRegistry('parquet-writer');
  }

  private parquetOptions(): Partial<ParquetOptions> {
    const p = this.config.parquet;
    return { compressionLevel: p.compression_level, rowGroupRows: p.row_group_rows, threads: p.threads, memoryLimit: p.memory_limit };
  }

  async start(): Promise<void> {
    const c = this.config;
    this.catalog = await openCatalog(c);
    const table = await loadOrCreate(this.catalog);
    checkTableLayout(table.metadata, this.catalog.describe);
    this.log.info({ catalog: this.catalog.describe, location: table.metadata.location }, 'table ready');
    // Leftovers of a commit that crashed are unreferenced files; sweep them now.
    const orphans = await removeOrphans(this.catalog, c.orphan_grace);
    if (orphans) this.log.info({ files: orphans }, 'deleted files of commits that never happened');

    this.link = await connectNats(c.nats_url, c.security, 'serviceradar-netflow-parquet-writer', this.log);
    const jsm = await this.link.nc.jetstreamManager();
    await ensureStream(jsm, c.stream, this.log);
    await ensureConsumer(jsm, CONSUMERS.iceberg, { ack_wait_ms: c.ack_wait, max_ack_pending: c.max_ack_pending });
    await this.alignConsumer(jsm);

    this.parquet = await ParquetWriter.open(this.parquetOptions());
    const writer = new IcebergWriter({
      catalog: this.catalog,
      parquet: this.parquet,
      log: this.log,
      registry: this.registry,
      source: `${STREAM}/${CONSUMERS.iceberg}`,
      ackFloor: async () => (await jsm.consumers.info(STREAM, CONSUMERS.iceberg)).ack_floor.stream_seq,
      reuseFilesMs: c.orphan_grace / 2,
      stream: async () => {
        const info = await jsm.streams.info(STREAM);
        return { created: info.created, lastSeq: info.state.last_seq };
      },
    });
    // The heartbeat keeps a batch's messages from redelivery while it fills
    // and commits, so ack_wait only bounds how long a crashed instance's batch
    // waits before another instance gets it.
    this.loop = new PullLoop(this.link.nc.jetstream(), writer, {
      durable: CONSUMERS.iceberg, batchSize: c.batch_size, maxWaitMs: c.batch_interval, writer: 'parquet-writer', prepare: writer.prepare,
      heartbeatMs: Math.max(500, Math.floor(c.ack_wait / 3)),
    }, this.log, this.registry);
    this.loop.start();

    this.schedule(c.compaction_interval, 'compaction', () => this.compactOnce());
    this.schedule(c.retention_interval, 'retention', () => this.retainOnce());
    if (c.metrics_listen_addr) {
      const i = c.metrics_listen_addr.lastIndexOf(':');
      this.metrics = await serveMetrics([this.registry], c.metrics_listen_addr.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0', Number(c.metrics_listen_addr.slice(i + 1)));
    }
    this.log.info({ consumer: CONSUMERS.iceberg, batch_size: c.batch_size, batch_interval_ms: c.batch_interval }, 'consuming');
  }

  /**
   * The consumer is ours: when it exists with a shorter ack wait or a smaller
   * pending limit than this config needs, raise them (both are editable).
   */
  private async alignConsumer(jsm: JetStreamManager): Promise<void> {
    const info = await jsm.consumers.info(STREAM, CONSUMERS.iceberg);
    const wantWait = nanos(this.config.ack_wait);
    const haveWait = info.config.ack_wait ?? 0;
    if (haveWait < wantWait || (info.config.max_ack_pending ?? 0) < this.config.max_ack_pending) {
      await jsm.consumers.update(STREAM, CONSUMERS.iceberg, { ack_wait: Math.max(haveWait, wantWait), max_ack_pending: Math.max(info.config.max_ack_pending ?? 0, this.config.max_ack_pending) });
      this.log.info({ ack_wait_ms: this.config.ack_wait, max_ack_pending: this.config.max_ack_pending }, 'raised the consumer limits to fit the batch window');
    }
  }

  private schedule(everyMs: number, what: string, job: () => Promise<void>): void {
    const run = () => {
      this.maintenance = this.maintenance.then(async () => {
        if (this.stopping) return;
        try { await job(); } catch (err) { this.log.error({ err: (err as Error).message }, `${what} failed; will retry next period`); }
      });
    };
    this.timers.push(setInterval(run, everyMs));
  }

  /** Compaction with its own DuckDB (the writer's is busy with batches). */
  async compactOnce(): Promise<void> {
    const parquet = await ParquetWriter.open(this.parquetOptions());
    try {
      await compact(this.catalog!, parquet, { minFiles: this.config.compaction_min_files, targetFileBytes: this.config.compaction_target_file_bytes, settleMs: this.config.compaction_settle }, this.log);
    } finally {
      parquet.close();
    }
  }

  /**
   * Retention on the flows table and on its rollup table alike: replaced
   * rollup files stay until no kept snapshot needs them (a query planned on
   * an older rollup snapshot can still read them), then the orphan sweep takes them.
   */
  async retainOnce(): Promise<void> {
    const c = this.config;
    const opts = { retentionDays: c.retention_days, snapshotMaxAgeMs: c.snapshot_retention, snapshotThinAfterMs: c.snapshot_thin_after, orphanGraceMs: c.orphan_grace };
    await applyRetention(this.catalog!, opts, this.log);
    const rollups = rollupCatalog(this.catalog!);
    if (rollups && (await rollups.load())) await applyRetention(rollups, opts, this.log);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    await this.loop?.stop();
    await this.maintenance;
    this.parquet?.close();
    await this.link?.nc.drain().catch(() => undefined);
    await this.catalog?.close?.();
    await new Promise<void>((resolve) => (this.metrics ? this.metrics.close(() => resolve()) : resolve()));
  }
}
