// The cold tier's rollups: a second Iceberg table beside the flows table,
// holding per closed UTC day the sums of that day's flows per hour (and per
// day) on the dashboard dimensions, so a 30-day top-N reads a few million
// rollup rows instead of hundreds of millions of flows.
//
// One table, one file per rollup set and day: `rollup` names the set (every
// row of a file has the same), the set's dimensions are filled and the others
// left '' or 0, `bytes`/`packets` are sampling-rate scaled, `flows` counts
// records. `source` is a fingerprint of the flows table's files of that day
// (path and record count of each); the reader uses a day's rollup only while
// the flows table still has exactly those files, so an answer from rollups is
// always the answer the flows would give (a day compacted, appended to or
// dropped since falls back to the flows until the next pass redoes it).
//
// Built by compaction after it compacted a day (and idempotent: a day whose
// rollup is current is skipped); each day's new files replace its old ones in
// one snapshot, whose summary names the flows snapshot it was made from.
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Logger } from '../../common/log.js';
import type { Catalog, LoadedTable } from './catalog.js';
import { loadOrCreate } from './catalog.js';
import { FsCatalog } from './catalog-fs.js';
import { childLocation, deleteLocation, localPath } from './io.js';
import { CommitConflictError, currentSnapshot, newSnapshotId, type TableLayout } from './metadata.js';
import type { DataFile } from './manifest.js';
import { openDuckDb } from './parquet.js';
import { COLUMNS, dayOf, dayText, encodeLong, PARTITION_FIELD_NAME, type IcebergType } from './schema.js';
import { addedEntries, commitOutcome, commitSnapshot, rewriteWithout, writeManifest } from './snapshot.js';
import { liveEntries, loadTable } from './table.js';

type Dim = 'exporter' | 'protocol' | 'input_if' | 'output_if' | 'src_ip' | 'dst_ip' | 'src_port' | 'dst_port';

export interface RollupSet {
  /** The `rollup` column's value for this set's rows. */
  name: string;
  grainSeconds: number;
  dims: readonly Dim[];
  /** Rows per distinct address of a flow in `host` (see core-extension/query/rollup-plan.ts). */
  eitherHost?: boolean;
}

const HOUR = 3600, DAY = 86_400;

/** The sets, as on the hot side (consumers/clickhouse/schema.ts) at hour and day grains. */
export const ROLLUP_SETS: readonly RollupSet[] = [
  { name: 'links_1h', grainSeconds: HOUR, dims: ['exporter', 'protocol', 'input_if', 'output_if'] },
  ...(['src_port', 'dst_port'] as const).flatMap((d) => [HOUR, DAY].map((g) => ({ name: `${d}s_${g === DAY ? '1d' : '1h'}`, grainSeconds: g, dims: ['exporter', 'protocol', d] as Dim[] }))),
  ...(['src_ip', 'dst_ip'] as const).flatMap((d) => [HOUR, DAY].map((g) => ({ name: `${d.slice(0, 3)}_hosts_${g === DAY ? '1d' : '1h'}`, grainSeconds: g, dims: ['exporter', d] as Dim[] }))),
  ...[HOUR, DAY].map((g) => ({ name: `hosts_${g === DAY ? '1d' : '1h'}`, grainSeconds: g, dims: ['exporter', 'protocol'] as Dim[], eitherHost: true })),
];

/** Columns of the rollup table: the flows table's field ids where the column is the same, new ones above. */
export const ROLLUP_COLUMNS: readonly { name: string; id: number; type: IcebergType; duckdb: string }[] = [
  ...COLUMNS.filter((c) => ['timestamp', 'src_ip', 'dst_ip', 'src_port', 'dst_port', 'protocol', 'bytes', 'packets', 'exporter', 'input_if', 'output_if'].includes(c.name)),
  { name: 'rollup', id: 101, type: 'string', duckdb: 'VARCHAR' },
  { name: 'host', id: 102, type: 'string', duckdb: 'VARCHAR' },
  { name: 'flows', id: 103, type: 'long', duckdb: 'BIGINT' },
  { name: 'source', id: 104, type: 'string', duckdb: 'VARCHAR' },
];
const ROLLUP_ID = 101, SOURCE_ID = 104;
const TIMESTAMP_ID = COLUMNS.find((c) => c.name === 'timestamp')!.id;

export const ROLLUP_LAYOUT: TableLayout = {
  schema: { type: 'struct', 'schema-id': 0, fields: ROLLUP_COLUMNS.map((c) => ({ id: c.id, name: c.name, required: true, type: c.type })) },
  sortOrder: { 'order-id': 0, fields: [] },
};

/** The summary property naming the flows snapshot a rollup commit was made from. */
export const SOURCE_SNAPSHOT = 'serviceradar.rollup.source-snapshot-id';

/**
 * The rollup table of a flows table: a folder beside a filesystem table.
 * (A REST catalog has none yet: its readers use the flows table alone.)
 */
export function rollupCatalog(flows: Catalog): Catalog | undefined {
  return flows instanceof FsCatalog ? new FsCatalog(`${flows.root}-rollups`, {}, ROLLUP_LAYOUT) : undefined;
}

/** The fingerprint of a day's flow files: which files, with how many records. */
export function sourceFingerprint(files: { path: string; recordCount: number }[]): string {
  const text = files.map((f) => `${f.path}\t${f.recordCount}`).sort().join('\n');
  return createHash('sha256').update(text).digest('hex').slice(0, 24);
}

/** A rollup file as the reader sees it, from its manifest entry. */
export interface RollupFile { set: string; day: number; source: string; file: DataFile }

export function rollupFileOf(f: DataFile): RollupFile {
  const text = (id: number) => f.lowerBounds.get(id)?.toString('utf8') ?? '';
  return { set: text(ROLLUP_ID), day: f.partitionDay, source: text(SOURCE_ID), file: f };
}

export interface RollupOptions {
  /** Days that ended less than this long before `now` are left alone (late flows may still arrive). */
  settleMs: number;
  now?: number;
  threads?: number;
  memoryLimit?: string;
}

export interface RollupResult { day: number; files: number; rows: number; snapshotId: number }

/**
 * Brings the rollups of every settled day up to date with the flows table:
 * days whose rollup is missing or made from other files are (re)built, days
 * the flows table no longer has lose their rollup. One snapshot per day.
 */
export async function buildRollups(flows: Catalog, opts: RollupOptions, log: Logger): Promise<RollupResult[]> {
  const target = rollupCatalog(flows);
  if (!target) return [];
  const now = opts.now ?? Date.now();
  const source = await loadTable(flows);
  const sourceId = String(source.currentSnapshot?.['snapshot-id'] ?? '');
  const flowDays = new Map<number, DataFile[]>();
  for (const { entry } of await liveEntries(source.currentSnapshot)) {
    flowDays.set(entry.file.partitionDay, [...(flowDays.get(entry.file.partitionDay) ?? []), entry.file]);
  }
  const rollDays = await rollupDays(await loadOrCreate(target));
  const lastSettled = dayOf(now - opts.settleMs) - 1;
  const { instance, con } = await openDuckDb({ threads: opts.threads, memoryLimit: opts.memoryLimit, settings: { autoinstall_known_extensions: 'false' } });
  const results: RollupResult[] = [];
  try {
    const days = new Set([...flowDays.keys(), ...rollDays.keys()]);
    for (const day of [...days].sort((a, b) => a - b)) {
      if (day > lastSettled) continue;
      const files = flowDays.get(day) ?? [];
      const have = rollDays.get(day) ?? [];
      const fingerprint = sourceFingerprint(files);
      const current = have.length === ROLLUP_SETS.length && have.every((r) => r.source === fingerprint) && ROLLUP_SETS.every((s) => have.some((r) => r.set === s.name));
      if (current || (!files.length && !have.length)) continue;
      results.push(await rollDay(con, target, day, files, fingerprint, have.map((r) => r.file), sourceId, log));
    }
  } finally {
    con.closeSync();
    instance.closeSync();
  }
  return results;
}

/** The rollup files of the table's current snapshot, by day. */
async function rollupDays(table: LoadedTable): Promise<Map<number, RollupFile[]>> {
  const out = new Map<number, RollupFile[]>();
  for (const { entry } of await liveEntries(currentSnapshot(table.metadata))) {
    const r = rollupFileOf(entry.file);
    out.set(r.day, [...(out.get(r.day) ?? []), r]);
  }
  return out;
}

async function rollDay(con: DuckDBConnection, target: Catalog, day: number, files: DataFile[], fingerprint: string, old: DataFile[], sourceId: string, log: Logger): Promise<RollupResult> {
  let base = await loadOrCreate(target);
  const snapshotId = newSnapshotId();
  const dir = childLocation(childLocation(base.metadata.location, 'data'), `${PARTITION_FIELD_NAME}=${dayText(day)}`);
  const written: DataFile[] = [];
  try {
    if (files.length) {
      const list = `[${files.map((f) => sqlString(localPath(f.path))).join(', ')}]`;
      for (const set of ROLLUP_SETS) {
        const location = childLocation(dir, `${snapshotId}-${set.name}-${randomUUID()}.parquet`);
        await mkdir(dirname(localPath(location)), { recursive: true });
        await con.run(`COPY (${setSelect(set, list, fingerprint)}) TO ${sqlString(localPath(location))} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 131072, FIELD_IDS ${FIELD_IDS})`);
        written.push(await describeParquet(con, location, ROLLUP_COLUMNS, day, null));
      }
    }
    const removed = new Set(old.map((f) => f.path));
    for (let attempt = 1; ; attempt++) {
      const parent = currentSnapshot(base.metadata);
      const { manifests } = await rewriteWithout(base, parent, snapshotId, removed);
      const added = written.length ? [await writeManifest(base, snapshotId, addedEntries(written))] : [];
      try {
        await commitSnapshot(target, base, {
          snapshotId, operation: removed.size ? 'overwrite' : 'append', manifests: [...added, ...manifests], keepParentManifests: false,
          added: written, removed: old, extra: { [SOURCE_SNAPSHOT]: sourceId },
        });
        break;
      } catch (err) {
        if (!(err instanceof CommitConflictError) || attempt >= 5) throw err;
        await Promise.all([...manifests, ...added].map((m) => deleteLocation(m.path)));
        base = await loadOrCreate(target);
      }
    }
  } catch (err) {
    const outcome = await commitOutcome(target, snapshotId, err);
    if (outcome === 'refused') await Promise.all(written.map((f) => deleteLocation(f.path)));
    if (outcome !== 'landed') throw err;
  }
  // The replaced files stay: a query may have planned on the previous snapshot. Retention's orphan sweep removes them once no kept snapshot needs them.
  const rows = written.reduce((n, f) => n + f.recordCount, 0);
  log.info({ day: dayText(day), files: written.length, rows, snapshot: snapshotId, source_snapshot: sourceId }, 'rolled up day');
  return { day, files: written.length, rows, snapshotId };
}

const FIELD_IDS = `{${ROLLUP_COLUMNS.map((c) => `"${c.name}": ${c.id}`).join(', ')}}`;

/** One set's rows of a day: sums per grain and dimensions, unused dimensions at their defaults, sorted for the reader. */
function setSelect(set: RollupSet, list: string, fingerprint: string): string {
  const us = set.grainSeconds * 1_000_000;
  const value = (name: string): string => {
    if (name === 'timestamp') return `make_timestamptz((epoch_us("timestamp") // ${us}) * ${us})`;
    if (name === 'rollup') return sqlString(set.name);
    if (name === 'source') return sqlString(fingerprint);
    if (name === 'host') return set.eitherHost ? '"host"' : `''`;
    if (name === 'bytes') return 'sum("bytes" * greatest("sampling_rate", 1))';
    if (name === 'packets') return 'sum("packets" * greatest("sampling_rate", 1))';
    if (name === 'flows') return 'count(*)';
    if ((set.dims as readonly string[]).includes(name)) return `"${name}"`;
    return ROLLUP_COLUMNS.find((c) => c.name === name)!.type === 'string' ? `''` : '0';
  };
  const cols = ROLLUP_COLUMNS.map((c) => `CAST(${value(c.name)} AS ${c.duckdb}) AS "${c.name}"`);
  // Each distinct address of a flow once: a flow from an address to itself is one row, not two.
  const from = set.eitherHost
    ? `(SELECT *, unnest(CASE WHEN "src_ip" = "dst_ip" THEN ["src_ip"] ELSE ["src_ip", "dst_ip"] END) AS "host" FROM read_parquet(${list}))`
    : `read_parquet(${list})`;
  // The host sets are read one address at a time: sorted by it, row group statistics skip the rest.
  const order = set.eitherHost ? '"host", "timestamp"' : '"timestamp"';
  return `SELECT ${cols.join(', ')} FROM ${from} GROUP BY ALL ORDER BY ${order}`;
}

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * A written Parquet file as a manifest entry's data file: record count, column
 * sizes, and bounds of every column from the file's own statistics (exact ones
 * only: a missing bound is allowed, a wrong one would make readers skip rows).
 */
export async function describeParquet(con: DuckDBConnection, location: string, columns: readonly { name: string; id: number; type: IcebergType }[], partitionDay: number, sortOrderId: number | null): Promise<DataFile> {
  const path = localPath(location);
  const meta = await con.runAndReadAll(
    `SELECT path_in_schema, sum(total_compressed_size)::BIGINT, sum(num_values)::BIGINT, min(stats_min_value), max(stats_max_value), bool_and(min_is_exact), bool_and(max_is_exact) FROM parquet_metadata($1) GROUP BY 1`, [path]);
  const byName = new Map(columns.map((c) => [c.name, c]));
  const columnSizes = new Map<number, number>(), valueCounts = new Map<number, number>(), nullValueCounts = new Map<number, number>();
  const lowerBounds = new Map<number, Buffer>(), upperBounds = new Map<number, Buffer>();
  let rows = 0;
  for (const [name, bytes, values, lo, hi, loExact, hiExact] of meta.getRows()) {
    const c = byName.get(String(name));
    if (!c) continue;
    columnSizes.set(c.id, Number(bytes));
    valueCounts.set(c.id, Number(values));
    nullValueCounts.set(c.id, 0);
    rows = Math.max(rows, Number(values));
    if (lo === null || hi === null || !loExact || !hiExact) continue;
    if (c.type === 'string') {
      lowerBounds.set(c.id, Buffer.from(String(lo), 'utf8'));
      upperBounds.set(c.id, Buffer.from(String(hi), 'utf8'));
    }
  }
  // Numbers and times from the data itself (Parquet prints them as text in its own units).
  const numeric = columns.filter((c) => c.type !== 'string');
  const agg = numeric.map((c) => (c.type === 'timestamptz' ? `min(epoch_us("${c.name}")), max(epoch_us("${c.name}"))` : `min("${c.name}"), max("${c.name}")`));
  const [row] = (await con.runAndReadAll(`SELECT ${agg.join(', ')} FROM read_parquet($1)`, [path])).getRows();
  numeric.forEach((c, i) => {
    const lo = row![2 * i], hi = row![2 * i + 1];
    if (lo === null || hi === null) return;
    lowerBounds.set(c.id, encodeLong(BigInt(lo as bigint | number)));
    upperBounds.set(c.id, encodeLong(BigInt(hi as bigint | number)));
  });
  const tsLo = lowerBounds.get(TIMESTAMP_ID);
  if (tsLo && dayOf(Number(tsLo.readBigInt64LE(0) / 1000n)) !== partitionDay) throw new Error(`${path}: rows outside day ${dayText(partitionDay)}`);
  return { path: location, recordCount: rows, fileSizeBytes: (await stat(path)).size, partitionDay, columnSizes, valueCounts, nullValueCounts, lowerBounds, upperBounds, sortOrderId };
}

