// Reading the table: its current version, time travel to a snapshot, and scan
// planning (which Parquet files can hold rows of a time range), pruned first by
// the manifests' partition summaries, then by each file's partition day, then
// by its timestamp bounds. The query engine hands the planned files to DuckDB's
// read_parquet; compaction and retention use the same reader.
import type { Catalog, LoadedTable } from './catalog.js';
import { localPath, readLocation } from './io.js';
import { decodeManifest, decodeManifestList, STATUS, type DataFile, type ManifestEntry, type ManifestFile } from './manifest.js';
import { currentSnapshot, snapshotAsOfTime, type Snapshot, type TableMetadata } from './metadata.js';
import { COLUMNS, dayOf, decodeBound, MS_PER_DAY, TIMESTAMP_FIELD_ID, type Column } from './schema.js';

export { COLUMNS, type Column, type Snapshot, type TableMetadata };

export interface Table extends LoadedTable {
  /** undefined while the table has no snapshot yet. */
  currentSnapshot: Snapshot | undefined;
  /** Snapshots still kept, oldest first. */
  snapshots: Snapshot[];
}

export class TableNotFoundError extends Error {
  override name = 'TableNotFoundError';
}

export async function loadTable(catalog: Catalog): Promise<Table> {
  const loaded = await catalog.load();
  if (!loaded) throw new TableNotFoundError(`${catalog.describe}: the table does not exist yet`);
  return toTable(loaded);
}

export function toTable(loaded: LoadedTable): Table {
  const snapshots = [...(loaded.metadata.snapshots ?? [])].sort((a, b) => a['sequence-number'] - b['sequence-number']);
  return { ...loaded, currentSnapshot: currentSnapshot(loaded.metadata), snapshots };
}

/**
 * The snapshot for `as_of`: a number or a string of digits is a snapshot id;
 * a Date or any other string (ISO 8601) is a time, answered with the snapshot
 * that was current then. undefined when there is none (before the first
 * commit, or an id that was expired).
 */
export function snapshotAt(table: Table, asOf: number | string | Date): Snapshot | undefined {
  if (typeof asOf === 'number' || (typeof asOf === 'string' && /^\d+$/.test(asOf))) {
    const id = Number(asOf);
    return table.snapshots.find((s) => s['snapshot-id'] === id);
  }
  const ms = asOf instanceof Date ? asOf.getTime() : Date.parse(asOf);
  if (Number.isNaN(ms)) throw new Error(`as_of "${String(asOf)}" is neither a snapshot id nor an ISO 8601 time`);
  return snapshotAsOfTime(table.metadata, ms);
}

export interface PlannedFile {
  /** The file's location as the manifest records it (absolute path or file:// URI). */
  path: string;
  /** The same file as a local path, ready for read_parquet. */
  localPath: string;
  recordCount: number;
  fileSizeBytes: number;
  /** The day(timestamp) partition: days since 1970-01-01 UTC. */
  partitionDay: number;
  /** Smallest and largest `timestamp` in the file, ms since the epoch. */
  timestampMinMs: number;
  timestampMaxMs: number;
}

export interface TimeRange {
  /** Inclusive start, ms since the epoch; omitted = unbounded. */
  fromMs?: number;
  /** Exclusive end, ms since the epoch; omitted = unbounded. */
  toMs?: number;
}

/** Files of `snapshot` that may hold rows with fromMs <= timestamp < toMs. */
export async function planFiles(snapshot: Snapshot | undefined, range: TimeRange = {}): Promise<PlannedFile[]> {
  if (!snapshot) return [];
  const from = range.fromMs ?? -Infinity;
  const to = range.toMs ?? Infinity;
  const [firstDay, lastDay] = [from === -Infinity ? -Infinity : dayOf(from), to === Infinity ? Infinity : dayOf(to - 1)];
  const out: PlannedFile[] = [];
  for (const m of await readManifestList(snapshot)) {
    if (!manifestMayMatch(m, firstDay, lastDay)) continue;
    for (const e of await readManifest(m)) {
      if (e.status === STATUS.DELETED) continue;
      const f = e.file;
      if (f.partitionDay < firstDay || f.partitionDay > lastDay) continue;
      const { minMs, maxMs } = timestampBounds(f);
      if (maxMs < from || minMs >= to) continue;
      out.push({ path: f.path, localPath: localPath(f.path), recordCount: f.recordCount, fileSizeBytes: f.fileSizeBytes, partitionDay: f.partitionDay, timestampMinMs: minMs, timestampMaxMs: maxMs });
    }
  }
  return out.sort((a, b) => a.timestampMinMs - b.timestampMinMs);
}

/** Every live (not deleted) file entry of a snapshot, with the manifest that holds it. */
export async function liveEntries(snapshot: Snapshot | undefined): Promise<{ manifest: ManifestFile; entry: ManifestEntry }[]> {
  if (!snapshot) return [];
  const out: { manifest: ManifestFile; entry: ManifestEntry }[] = [];
  for (const manifest of await readManifestList(snapshot)) {
    for (const entry of await readManifest(manifest)) if (entry.status !== STATUS.DELETED) out.push({ manifest, entry });
  }
  return out;
}

function manifestMayMatch(m: ManifestFile, firstDay: number, lastDay: number): boolean {
  const p = m.partitions[0];
  if (!p || !p.lowerBound || !p.upperBound) return true;
  const lo = decodeBound('date', p.lowerBound) as number;
  const hi = decodeBound('date', p.upperBound) as number;
  return hi >= firstDay && lo <= lastDay;
}

/** A file's timestamp range in ms; the whole partition day when bounds are missing. */
export function timestampBounds(f: DataFile): { minMs: number; maxMs: number } {
  const lo = f.lowerBounds.get(TIMESTAMP_FIELD_ID);
  const hi = f.upperBounds.get(TIMESTAMP_FIELD_ID);
  if (!lo || !hi) return { minMs: f.partitionDay * MS_PER_DAY, maxMs: (f.partitionDay + 1) * MS_PER_DAY - 1 };
  const us = (b: Buffer) => decodeBound('timestamptz', b) as bigint;
  return { minMs: Number(us(lo) / 1000n), maxMs: Number((us(hi) + 999n) / 1000n) };
}

// Manifest lists and manifests are immutable once written, so they are cached
// by location (bounded: the newest table state is what gets read again).
const CACHE_LIMIT = 512;
const cache = new Map<string, unknown>();

async function cached<T>(key: string, load: () => Promise<T>): Promise<T> {
  if (cache.has(key)) {
    const v = cache.get(key) as T;
    cache.delete(key);
    cache.set(key, v);
    return v;
  }
  const v = await load();
  cache.set(key, v);
  if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  return v;
}

export function readManifestList(snapshot: Snapshot): Promise<ManifestFile[]> {
  const at = snapshot['manifest-list'];
  return cached(`list:${at}`, async () => decodeManifestList(await readLocation(at)));
}

export function readManifest(m: ManifestFile): Promise<ManifestEntry[]> {
  return cached(`manifest:${m.path}:${m.sequenceNumber}`, async () => decodeManifest(await readLocation(m.path), m));
}
