// The historical tier: DuckDB (embedded, in memory) over the Iceberg table.
// The table's own metadata picks the files (snapshot -> manifests -> day
// partitions -> timestamp bounds, consumers/iceberg/table.ts); DuckDB reads just
// those with read_parquet. DuckDB's iceberg extension is not needed (and only
// loads into one exact DuckDB release). Each query gets its own connection, so
// queries run side by side and a timed-out one is interrupted.
//
// Days the rollup table (consumers/iceberg/rollup.ts) holds, made from exactly
// the files the snapshot has for that day, are answered from its hourly and
// daily sets where they fit (rollup-plan.ts), the rest from the flows.
import { DuckDBInstance, listValue, type DuckDBValue } from '@duckdb/node-api';
import type { Catalog } from '../../consumers/iceberg/catalog.js';
import { liveEntries, loadTable, planFiles, snapshotAt, TableNotFoundError, type PlannedFile, type Table } from '../../consumers/iceberg/table.js';
import type { Snapshot } from '../../consumers/iceberg/metadata.js';
import { rollupCatalog, rollupFileOf, ROLLUP_SETS, sourceFingerprint, type RollupFile } from '../../consumers/iceberg/rollup.js';
import { dayOf, MS_PER_DAY } from '../../consumers/iceberg/schema.js';
import { localPath } from '../../consumers/iceberg/io.js';
import { canonicalKey, duckdbAggregate, DUCKDB_MACROS, type DuckParam, type DuckPiece } from './duckdb-sql.js';
import { openDuckDb } from '../../consumers/iceberg/parquet.js';
import { cover, type RollupTable } from './rollup-plan.js';
import { ParamError, type AggResult, type Aggregate, type AggregateEngine, type AsOf } from './model.js';
import type { ColdSnapshot, ColdTier } from './planner.js';

export class DuckDb {
  private constructor(private readonly instance: DuckDBInstance) {}

  static async open(opts: { threads?: number; memoryLimit?: string } = {}): Promise<DuckDb> {
    // The table is read-only to us: no extension downloads. Month buckets are UTC months whatever the host's zone.
    const { instance, con: c } = await openDuckDb({ ...opts, settings: { autoinstall_known_extensions: 'false' } });
    try {
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
  private readonly rollups: Catalog | undefined;

  constructor(private readonly catalog: Catalog, private readonly duck: DuckDb, private readonly opts: { marginMs: number }) {
    this.rollups = rollupCatalog(catalog);
  }

  async snapshot(asOf: AsOf | null, _signal: AbortSignal): Promise<ColdSnapshot> {
    let table: Table;
    try {
      table = await loadTable(this.catalog);
    } catch (err) {
      if (err instanceof TableNotFoundError && !asOf) return { engine: new SnapshotEngine(undefined, [], this.duck), snapshotId: null, completeBeforeMs: null };
      if (err instanceof TableNotFoundError) throw new ParamError('as_of', 'the Iceberg table has no snapshots yet');
      throw err;
    }
    let snap: Snapshot | undefined = table.currentSnapshot;
    if (asOf) {
      snap = snapshotAt(table, 'snapshotId' in asOf ? asOf.snapshotId : new Date(asOf.timeMs));
      if (!snap) throw new ParamError('as_of', 'snapshotId' in asOf ? 'no such snapshot (it may have expired)' : 'the table had no snapshot yet at that time');
    }
    return {
      // The current rollups serve an older snapshot too: a day's rollup is used only if made from that snapshot's files.
      engine: new SnapshotEngine(snap, await this.rollupFiles(), this.duck),
      snapshotId: snap ? String(snap['snapshot-id']) : null,
      completeBeforeMs: snap ? await this.completeBefore(snap) : null,
    };
  }

  private async rollupFiles(): Promise<RollupFile[]> {
    if (!this.rollups) return [];
    try {
      const t = await loadTable(this.rollups);
      return (await liveEntries(t.currentSnapshot)).map((e) => rollupFileOf(e.entry.file));
    } catch (err) {
      if (err instanceof TableNotFoundError) return [];
      throw err;
    }
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

/** A rollup set as the planner sees it, with its files by day. */
interface SetTable extends RollupTable { name: string; eitherHost: boolean; files: Map<number, string[]> }

const RAW: SetTable = { kind: 'raw', name: 'iceberg', grainSeconds: 1, dims: new Set(), eitherHost: false, files: new Map() };

/** Aggregates over one snapshot's files, and the rollups made from them. */
class SnapshotEngine implements AggregateEngine {
  /** Group lists are parameters (duckdb-sql.ts), not SQL text: one query however many. */
  readonly onlyLimit = Number.POSITIVE_INFINITY;

  constructor(private readonly snap: Snapshot | undefined, private readonly rollups: RollupFile[], private readonly duck: DuckDb) {}

  async aggregate(agg: Aggregate, signal: AbortSignal): Promise<AggResult> {
    // Whole days are planned, so each day's files can be compared with what its rollup was made from.
    const firstDay = dayOf(agg.startMs), lastDay = dayOf(agg.endMs - 1);
    const files = await planFiles(this.snap, { fromMs: firstDay * MS_PER_DAY, toMs: (lastDay + 1) * MS_PER_DAY });
    if (!files.length) return { rows: [], rowsRead: 0, tables: ['iceberg'] };
    const byDay = new Map<number, PlannedFile[]>();
    for (const f of files) byDay.set(f.partitionDay, [...(byDay.get(f.partitionDay) ?? []), f]);
    const sets = this.setsFor(byDay, firstDay, lastDay);
    const covered = (day: number) => sets.length > 0 && sets[0]!.files.has(day);
    // Runs of days alike (rolled up or not), each covered by rollups or flows.
    const pieces: { table: SetTable; fromMs: number; toMs: number }[] = [];
    for (let day = firstDay; day <= lastDay;) {
      let end = day;
      while (end + 1 <= lastDay && covered(end + 1) === covered(day)) end++;
      const from = Math.max(agg.startMs, day * MS_PER_DAY), to = Math.min(agg.endMs, (end + 1) * MS_PER_DAY);
      pieces.push(...(covered(day) ? cover(sets, RAW, agg, from, to) : [{ table: RAW, fromMs: from, toMs: to }]));
      day = end + 1;
    }
    let rowsRead = 0;
    const tables = new Set<string>();
    const duckPieces: DuckPiece[] = pieces.map((p) => {
      if (p.table.kind === 'raw') {
        const inside: string[] = [], edge: string[] = [];
        for (const f of files) {
          if (f.timestampMaxMs < p.fromMs || f.timestampMinMs >= p.toMs) continue;
          // Bounds are whole milliseconds rounded outwards, so "inside" is never wrong.
          (f.timestampMinMs >= p.fromMs && f.timestampMaxMs < p.toMs ? inside : edge).push(f.localPath);
          rowsRead += f.recordCount;
        }
        if (inside.length + edge.length) tables.add('iceberg');
        return { kind: 'raw', fromMs: p.fromMs, toMs: p.toMs, inside, edge };
      }
      const chosen: string[] = [];
      for (let d = dayOf(p.fromMs); d <= dayOf(p.toMs - 1); d++) chosen.push(...(p.table.files.get(d) ?? []));
      tables.add(`iceberg rollup ${p.table.name}`);
      return { kind: 'rollup', fromMs: p.fromMs, toMs: p.toMs, files: chosen, eitherHost: p.table.eitherHost };
    });
    rowsRead += this.rollupRows(pieces);
    if (!duckPieces.some((p) => (p.kind === 'raw' ? p.inside.length + p.edge.length : p.files.length) > 0)) return { rows: [], rowsRead: 0, tables: ['iceberg'] };
    const { sql, params } = duckdbAggregate(agg, duckPieces);
    const raw = await this.duck.all(sql, params, signal);
    const rows = raw.map((r) => ({
      keys: agg.keys.map((d, i) => canonicalKey(d, r[`k${i}`])),
      ...(agg.interval ? { bucket: Number(r.bucket) } : {}),
      bytes: Number(r.bytes ?? 0), packets: Number(r.packets ?? 0), flows: Number(r.flows ?? 0),
    }));
    return { rows, rowsRead, tables: [...tables] };
  }

  /**
   * The rollup sets, each with its files of the days in [firstDay, lastDay]
   * whose rollup was made from exactly the files the snapshot has for that day
   * (every set of such a day is there: the rollup pass writes them together).
   */
  private setsFor(byDay: Map<number, PlannedFile[]>, firstDay: number, lastDay: number): SetTable[] {
    const good = new Set<number>();
    for (const [day, files] of byDay) {
      if (day < firstDay || day > lastDay) continue;
      const fingerprint = sourceFingerprint(files);
      const mine = this.rollups.filter((r) => r.day === day);
      if (mine.length === ROLLUP_SETS.length && mine.every((r) => r.source === fingerprint) && ROLLUP_SETS.every((s) => mine.some((r) => r.set === s.name))) good.add(day);
    }
    if (!good.size) return [];
    return ROLLUP_SETS.map((s) => {
      const files = new Map<number, string[]>();
      for (const r of this.rollups) if (r.set === s.name && good.has(r.day)) files.set(r.day, [...(files.get(r.day) ?? []), localPath(r.file.path)]);
      return { kind: 'rollup', name: s.name, grainSeconds: s.grainSeconds, dims: new Set(s.dims), eitherHost: !!s.eitherHost, files };
    });
  }

  private rollupRows(pieces: { table: SetTable; fromMs: number; toMs: number }[]): number {
    let n = 0;
    for (const p of pieces) {
      if (p.table.kind === 'raw') continue;
      for (const r of this.rollups) if (r.set === p.table.name && r.day >= dayOf(p.fromMs) && r.day <= dayOf(p.toMs - 1)) n += r.file.recordCount;
    }
    return n;
  }
}
