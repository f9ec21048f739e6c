// The historical tier: DuckDB (embedded, in memory) over the Iceberg table.
// The table's own metadata picks the files (snapshot -> manifests -> day
// partitions -> timestamp bounds, consumers/iceberg/table.ts); DuckDB reads just
// those with read_parquet. DuckDB's iceberg extension is not needed (and only
// loads into one exact DuckDB release). Each query gets its own connection, so
// queries run side by side and a timed-out one is interrupted.
import { DuckDBInstance, listValue, type DuckDBValue } from '@duckdb/node-api';
import type { Catalog } from '../../consumers/iceberg/catalog.js';
import { loadTable, planFiles, snapshotAt, TableNotFoundError, type Table } from '../../consumers/iceberg/table.js';
import type { Snapshot } from '../../consumers/iceberg/metadata.js';
import { canonicalKey, duckdbAggregate, DUCKDB_MACROS, type DuckParam } from './duckdb-sql.js';
import { ParamError, type AggResult, type Aggregate, type AggregateEngine, type AsOf } from './model.js';
import type { ColdSnapshot, ColdTier } from './planner.js';

export class DuckDb {
  private constructor(private readonly instance: DuckDBInstance) {}

  static async open(opts: { threads?: number; memoryLimit?: string } = {}): Promise<DuckDb> {
    const instance = await DuckDBInstance.create(':memory:', {
      ...(opts.threads ? { threads: String(opts.threads) } : {}),
      ...(opts.memoryLimit ? { memory_limit: opts.memoryLimit } : {}),
      // The table is read-only to us: no extension downloads, no writes outside memory.
      autoinstall_known_extensions: 'false',
    });
    const c = await instance.connect();
    try {
      // Month buckets are UTC months whatever the host's zone.
      await c.run(`SET GLOBAL TimeZone = 'UTC'`);
      for (const m of DUCKDB_MACROS) await c.run(m);
    } finally { c.closeSync(); }
    return new DuckDb(instance);
  }

  /** Runs one statement on a connection of its own; `signal` interrupts it. */
  async all(sql: string, params: DuckParam[], signal: AbortSignal): Promise<Record<string, unknown>[]> {
    const c = await this.instance.connect();
    const stop = () => c.interrupt();
    signal.addEventListener('abort', stop, { once: true });
    try {
      const reader = await c.runAndReadAll(sql, params.map(toDuck));
      return reader.getRowObjectsJS() as Record<string, unknown>[];
    } finally {
      signal.removeEventListener('abort', stop);
      c.closeSync();
    }
  }

  close(): void {
    this.instance.closeSync();
  }
}

function toDuck(v: DuckParam): DuckDBValue {
  if (Array.isArray(v)) return listValue(v);
  // Integers as BIGINT, so they compare with the table's long columns without a cast.
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  return v;
}

/** How far back the newest committed flow is looked for first. */
const RECENT_MS = 3 * 86_400_000;

/** The Iceberg table as the planner's cold tier. */
export class IcebergTier implements ColdTier {
  constructor(private readonly catalog: Catalog, private readonly duck: DuckDb, private readonly opts: { marginMs: number }) {}

  async snapshot(asOf: AsOf | null, _signal: AbortSignal): Promise<ColdSnapshot> {
    let table: Table;
    try {
      table = await loadTable(this.catalog);
    } catch (err) {
      if (err instanceof TableNotFoundError && !asOf) return { engine: new SnapshotEngine(undefined, this.duck), snapshotId: null, completeBeforeMs: null };
      if (err instanceof TableNotFoundError) throw new ParamError('as_of', 'the Iceberg table has no snapshots yet');
      throw err;
    }
    let snap: Snapshot | undefined = table.currentSnapshot;
    if (asOf) {
      snap = snapshotAt(table, 'snapshotId' in asOf ? asOf.snapshotId : new Date(asOf.timeMs));
      if (!snap) throw new ParamError('as_of', 'snapshotId' in asOf ? 'no such snapshot (it may have expired)' : 'the table had no snapshot yet at that time');
    }
    return {
      engine: new SnapshotEngine(snap, this.duck),
      snapshotId: snap ? String(snap['snapshot-id']) : null,
      completeBeforeMs: snap ? await this.completeBefore(snap) : null,
    };
  }

  /**
   * The instant before which the snapshot holds every record: its newest
   * timestamp, less a margin for flows that arrive out of order. From there on
   * ClickHouse answers.
   */
  private async completeBefore(snap: Snapshot): Promise<number | null> {
    // The newest flows are in the newest days: read only their manifests (pruned by
    // partition summaries), and the whole table only when those days are empty.
    let files = await planFiles(snap, { fromMs: Date.now() - RECENT_MS });
    if (!files.length) files = await planFiles(snap);
    if (!files.length) return null;
    return files.reduce((m, f) => Math.max(m, f.timestampMaxMs), -Infinity) - this.opts.marginMs;
  }
}

/** Aggregates over one snapshot's files. */
class SnapshotEngine implements AggregateEngine {
  constructor(private readonly snap: Snapshot | undefined, private readonly duck: DuckDb) {}

  async aggregate(agg: Aggregate, signal: AbortSignal): Promise<AggResult> {
    const files = await planFiles(this.snap, { fromMs: agg.startMs, toMs: agg.endMs });
    if (!files.length) return { rows: [], rowsRead: 0, tables: ['iceberg'] };
    // Bounds are whole milliseconds rounded outwards, so "inside" is never wrong.
    const split = { inside: [] as string[], edge: [] as string[] };
    for (const f of files) (f.timestampMinMs >= agg.startMs && f.timestampMaxMs < agg.endMs ? split.inside : split.edge).push(f.localPath);
    const { sql, params } = duckdbAggregate(agg, split);
    const raw = await this.duck.all(sql, params, signal);
    const rows = raw.map((r) => ({
      keys: agg.keys.map((d, i) => canonicalKey(d, r[`k${i}`])),
      ...(agg.interval ? { bucket: Number(r.bucket) } : {}),
      bytes: Number(r.bytes ?? 0), packets: Number(r.packets ?? 0), flows: Number(r.flows ?? 0),
    }));
    return { rows, rowsRead: files.reduce((s, f) => s + f.recordCount, 0), tables: ['iceberg'] };
  }
}
