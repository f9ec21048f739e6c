// Keeps the hot tier to its window on every engine: drops each whole UTC-day
// partition whose every row is older than the window (18.16 has no TTL; where
// the engine has TTL the tables carry one too, see schema.ts). A partition is
// dropped once its last second has passed out of the window, so rows stay
// between `window` and `window + 1 day`; the query side asks ClickHouse only
// about the window.
import type { Logger } from '../../common/log.js';
import { Counter, type Registry } from '../../common/metrics.js';
import type { ClickHouseEngine } from './engine.js';
import { conciseError } from './engine.js';
import { assertIdentifier, DATA_TABLES, tableRef } from './schema.js';

const DAY_MS = 86_400_000;
const PARTITION_ID = /^(\d{4})(\d{2})(\d{2})$/;

export interface DroppedPartition { table: string; partition: string }

/** The UTC day (days since the epoch) a toDate partition id such as "20260105" stands for. */
export function partitionDay(id: string): number | undefined {
  const m = PARTITION_ID.exec(id);
  if (!m) return undefined;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / DAY_MS;
}

/** Partitions wholly older than `retentionMs` before `now`. */
export function expiredPartitions(parts: { table: string; partition_id: string }[], retentionMs: number, now: number): DroppedPartition[] {
  // Day D's last row is before D+1 00:00; that is out of the window when D+1 <= the cutoff day's start.
  const cutoffDay = Math.floor((now - retentionMs) / DAY_MS);
  return parts
    .filter((p) => { const day = partitionDay(p.partition_id); return day !== undefined && day < cutoffDay; })
    .map((p) => ({ table: p.table, partition: p.partition_id }));
}

export class RetentionJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private readonly dropped: Counter;
  private readonly failures: Counter;

  constructor(
    private readonly engine: ClickHouseEngine,
    private readonly database: string,
    private readonly retentionMs: number,
    private readonly intervalMs: number,
    private readonly log: Logger,
    registry: Registry,
  ) {
    assertIdentifier(database, 'database');
    this.dropped = new Counter({ name: 'netflow_clickhouse_partitions_dropped_total', help: 'expired day partitions dropped', registers: [registry] });
    this.failures = new Counter({ name: 'netflow_clickhouse_retention_failures_total', help: 'retention runs that failed (retried next interval)', registers: [registry] });
  }

  /** Runs now, then every interval. */
  start(): void {
    const tick = () => {
      this.running = this.runOnce().catch((err) => {
        this.failures.inc();
        this.log.warn({ err: conciseError(err) }, 'retention run failed; retrying at the next interval');
      });
      this.timer = setTimeout(tick, this.intervalMs);
      this.timer.unref();
    };
    tick();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  async runOnce(now = Date.now()): Promise<DroppedPartition[]> {
    const parts = await this.engine.query<{ table: string; partition_id: string }>(
      `SELECT table, partition_id FROM system.parts WHERE database = '${this.database}' AND active
AND table IN (${DATA_TABLES.map((t) => `'${t}'`).join(', ')}) GROUP BY table, partition_id`);
    const expired = expiredPartitions(parts, this.retentionMs, now);
    for (const p of expired) {
      // partition ids passed PARTITION_ID: eight digits.
      await this.engine.exec(`ALTER TABLE ${tableRef(this.database, p.table)} DROP PARTITION ID '${p.partition}'`);
      this.dropped.inc();
      this.log.info({ table: p.table, partition: p.partition }, 'dropped expired partition');
    }
    return expired;
  }
}
