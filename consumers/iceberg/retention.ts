// Retention, in three steps:
// 1. days older than retention_days are removed whole, by one `delete`
//    snapshot that marks all their files deleted;
// 2. snapshots older than snapshot_retention are expired, and those
//    superseded more than snapshot_thin_after ago are thinned to the last of
//    each UTC hour (time travel keeps working, to the hour, for the rest; the
//    current snapshot is always kept). Every snapshot is an entry of the
//    metadata JSON each commit rewrites: at a commit every 2 s, a week of them
//    would make it 300 MB;
// 3. files that no kept snapshot references (data, manifests, manifest lists,
//    and leftovers of commits that never happened) are deleted from disk once
//    they are older than orphan_grace, so a commit in flight is never robbed.
import { readdir, rmdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../common/log.js';
import type { Catalog } from './catalog.js';
import { localPath } from './io.js';
import { CommitConflictError, CommitStateUnknownError, newSnapshotId, type Snapshot } from './metadata.js';
import { commitReplacing } from './compaction.js';
import { dayOf, dayText, MS_PER_DAY } from './schema.js';
import { liveEntries, loadTable, readManifestList } from './table.js';

export interface RetentionOptions {
  retentionDays: number;
  snapshotMaxAgeMs: number;
  /** Snapshots superseded longer ago than this are kept only as the last of their UTC hour. */
  snapshotThinAfterMs: number;
  orphanGraceMs: number;
  now?: number;
}

export interface RetentionResult {
  droppedDays: string[];
  droppedFiles: number;
  droppedRecords: number;
  expiredSnapshots: number;
  deletedOrphans: number;
}

export async function applyRetention(catalog: Catalog, opts: RetentionOptions, log: Logger): Promise<RetentionResult> {
  const now = opts.now ?? Date.now();
  const dropped = await dropOldDays(catalog, opts.retentionDays, now);
  const expiredSnapshots = await expireSnapshots(catalog, opts, now);
  const deletedOrphans = await removeOrphans(catalog, opts.orphanGraceMs, now);
  const result = { ...dropped, expiredSnapshots, deletedOrphans };
  if (dropped.droppedFiles || expiredSnapshots || deletedOrphans) log.info(result, 'retention');
  return result;
}

/** The first day kept: a day is dropped once all of it is older than retentionDays. */
export function firstKeptDay(retentionDays: number, now: number): number {
  return dayOf(now - retentionDays * MS_PER_DAY);
}

async function dropOldDays(catalog: Catalog, retentionDays: number, now: number): Promise<Pick<RetentionResult, 'droppedDays' | 'droppedFiles' | 'droppedRecords'>> {
  const table = await loadTable(catalog);
  const keepFrom = firstKeptDay(retentionDays, now);
  const old = (await liveEntries(table.currentSnapshot)).map((e) => e.entry.file).filter((f) => f.partitionDay < keepFrom);
  if (!old.length) return { droppedDays: [], droppedFiles: 0, droppedRecords: 0 };
  await commitReplacing(catalog, table, newSnapshotId(), 'delete', new Set(old.map((f) => f.path)), [], []);
  return {
    droppedDays: [...new Set(old.map((f) => f.partitionDay))].sort((a, b) => a - b).map(dayText),
    droppedFiles: old.length,
    droppedRecords: old.reduce((n, f) => n + f.recordCount, 0),
  };
}

/**
 * The snapshots to expire at `now`: every one created more than maxAgeMs ago
 * (Iceberg's expire-older-than), and every one superseded more than
 * thinAfterMs ago by a snapshot of the same UTC hour (so the last of each hour
 * stays). Superseded, not created: a query planned on the snapshot current a
 * moment ago may still be reading files only it names. The order is the commit
 * order (sequence numbers); the current snapshot and any a branch or tag names
 * are kept.
 */
export function snapshotsToExpire(snapshots: Snapshot[], keep: Set<number>, now: number, maxAgeMs: number, thinAfterMs: number): number[] {
  const ordered = [...snapshots].sort((a, b) => a['sequence-number'] - b['sequence-number']);
  const hour = (s: Snapshot) => Math.floor(s['timestamp-ms'] / 3_600_000);
  return ordered.filter((s, i) => {
    const next = ordered[i + 1];
    if (keep.has(s['snapshot-id'])) return false;
    if (now - s['timestamp-ms'] > maxAgeMs) return true;
    return next !== undefined && now - next['timestamp-ms'] > thinAfterMs && hour(next) === hour(s);
  }).map((s) => s['snapshot-id']);
}

async function expireSnapshots(catalog: Catalog, opts: RetentionOptions, now: number, attempts = 10): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const table = await loadTable(catalog);
    const keep = new Set(Object.values(table.metadata.refs ?? {}).map((r) => r['snapshot-id']));
    if (table.currentSnapshot) keep.add(table.currentSnapshot['snapshot-id']);
    const expired = snapshotsToExpire(table.snapshots, keep, now, opts.snapshotMaxAgeMs, opts.snapshotThinAfterMs);
    if (!expired.length) return 0;
    try {
      await catalog.commit(table, {
        requirements: [
          { type: 'assert-table-uuid', uuid: table.metadata['table-uuid'] },
          { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': table.currentSnapshot?.['snapshot-id'] ?? null },
        ],
        updates: [{ action: 'remove-snapshots', 'snapshot-ids': expired }],
      });
      return expired.length;
    } catch (err) {
      if (!(err instanceof CommitConflictError || err instanceof CommitStateUnknownError) || attempt >= attempts) throw err;
    }
  }
}

/** Every file location the kept snapshots need. */
async function referencedFiles(snapshots: Snapshot[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const s of snapshots) {
    out.add(localPath(s['manifest-list']));
    for (const m of await readManifestList(s)) out.add(localPath(m.path));
    for (const { entry } of await liveEntries(s)) out.add(localPath(entry.file.path));
  }
  return out;
}

/**
 * Deletes unreferenced files under data/ and metadata/ older than graceMs.
 * Metadata JSON versions and the version hint belong to the catalog and are
 * never touched here.
 */
export async function removeOrphans(catalog: Catalog, graceMs: number, now = Date.now()): Promise<number> {
  const table = await loadTable(catalog);
  const keep = await referencedFiles(table.snapshots);
  const root = localPath(table.metadata.location);
  let deleted = 0;
  const sweep = async (dir: string, isRoot: boolean): Promise<boolean> => {
    let names: string[];
    try { names = await readdir(dir); } catch { return false; }
    let empty = true;
    for (const name of names) {
      const path = join(dir, name);
      const st = await stat(path).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) {
        if (!(await sweep(path, false))) empty = false;
        continue;
      }
      const catalogOwned = /\.metadata\.json$/.test(name) || name === 'version-hint.text';
      if (catalogOwned || keep.has(path) || st.mtimeMs > now - graceMs) { empty = false; continue; }
      await unlink(path).catch(() => undefined);
      deleted++;
    }
    if (empty && !isRoot) await rmdir(dir).catch(() => undefined);
    return empty;
  };
  await sweep(join(root, 'data'), true);
  await sweep(join(root, 'metadata'), true);
  return deleted;
}

