// Compaction: every append adds small files (one per batch and day); once a
// day is over, its files are rewritten into few large ones, sorted by time,
// and swapped in by one `replace` snapshot per day. Readers see the old files
// or the new ones, never both: the snapshot deletes the old entries and adds
// the new in one commit. The manifests are rewritten along the way, which
// also folds the day's many small append manifests into one. Then the
// rollup table is brought up to date with every settled day (rollup.ts).
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../common/log.js';
import type { Catalog, LoadedTable } from './catalog.js';
import { childLocation, deleteLocation } from './io.js';
import { CommitConflictError, CommitStateUnknownError, currentSnapshot, newSnapshotId } from './metadata.js';
import type { DataFile } from './manifest.js';
import type { ParquetWriter } from './parquet.js';
import { dayOf, dayText, PARTITION_FIELD_NAME } from './schema.js';
import * as seqset from './seqset.js';
import { addedEntries, commitOutcome, commitSnapshot, FilesGoneError, landed, rewriteWithout, writeManifest } from './snapshot.js';
import { liveEntries, loadTable, timestampBounds } from './table.js';
import { buildRollups } from './rollup.js';

export interface CompactionOptions {
  /** A day is compacted once it has at least this many files. */
  minFiles: number;
  /** Output files stop growing at about this many bytes of input. */
  targetFileBytes: number;
  /** Days whose end is less than this long ago are left alone (late records may still arrive). */
  settleMs: number;
  now?: number;
}

export interface CompactionResult { day: number; filesBefore: number; filesAfter: number; records: number; snapshotId: number }

/** Compacts every settled day that has enough files; one replace snapshot per day. */
export async function compact(catalog: Catalog, parquet: ParquetWriter, opts: CompactionOptions, log: Logger): Promise<CompactionResult[]> {
  const now = opts.now ?? Date.now();
  const table = await loadTable(catalog);
  const byDay = new Map<number, DataFile[]>();
  for (const { entry } of await liveEntries(table.currentSnapshot)) {
    const list = byDay.get(entry.file.partitionDay) ?? [];
    list.push(entry.file);
    byDay.set(entry.file.partitionDay, list);
  }
  const lastSettledDay = dayOf(now - opts.settleMs) - 1;
  const results: CompactionResult[] = [];
  for (const [day, files] of [...byDay].sort((a, b) => a[0] - b[0])) {
    if (day > lastSettledDay) continue;
    const groups = groupFiles(files, opts.targetFileBytes).filter((g) => g.length > 1);
    if (files.length < opts.minFiles || !groups.length) continue;
    try {
      results.push(await compactDay(catalog, parquet, day, groups, log));
    } catch (err) {
      // Another instance compacted (or retention dropped) the day first: nothing lost.
      if (!(err instanceof FilesGoneError)) throw err;
      log.info({ day: dayText(day) }, 'day changed under compaction; left for the next run');
    }
  }
  // After compaction, so a day is rolled up from its compacted files (a rollup names the files it was made from).
  // A failed pass loses nothing: readers use the flows for any day without a current rollup, the next run retries.
  await buildRollups(catalog, { settleMs: opts.settleMs, now, threads: parquet.opts.threads, memoryLimit: parquet.opts.memoryLimit }, log)
    .catch((err: Error) => log.warn({ err: err.message }, 'rollup pass failed; left for the next run'));
  return results;
}

/** Files in time order, cut into groups of about targetBytes each. */
export function groupFiles(files: DataFile[], targetBytes: number): DataFile[][] {
  // Grouped in time order, so compacted files cover disjoint time ranges and prune well.
  const sorted = [...files].sort((a, b) => timestampBounds(a).minMs - timestampBounds(b).minMs || a.path.localeCompare(b.path));
  const groups: DataFile[][] = [];
  let current: DataFile[] = [];
  let bytes = 0;
  for (const f of sorted) {
    if (current.length && bytes + f.fileSizeBytes > targetBytes) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(f);
    bytes += f.fileSizeBytes;
  }
  if (current.length) groups.push(current);
  return groups;
}

async function compactDay(catalog: Catalog, parquet: ParquetWriter, day: number, groups: DataFile[][], log: Logger): Promise<CompactionResult> {
  const table = await loadTable(catalog);
  const snapshotId = newSnapshotId();
  const dir = childLocation(childLocation(table.metadata.location, 'data'), `${PARTITION_FIELD_NAME}=${dayText(day)}`);
  const written: DataFile[] = [];
  try {
    for (const g of groups) written.push(await parquet.rewriteFiles(g, childLocation(dir, `${snapshotId}-${randomUUID()}.parquet`)));
    const removed = new Set(groups.flat().map((f) => f.path));
    const added = await writeManifest(table, snapshotId, addedEntries(written));
    await commitReplacing(catalog, table, snapshotId, 'replace', removed, written, [added]);
  } catch (err) {
    const outcome = await commitOutcome(catalog, snapshotId, err);
    if (outcome === 'refused') await Promise.all(written.map((f) => deleteLocation(f.path)));
    if (outcome !== 'landed') throw err;
  }
  const records = written.reduce((n, f) => n + f.recordCount, 0);
  log.info({ day: dayText(day), files_before: groups.flat().length, files_after: written.length, records, snapshot: snapshotId }, 'compacted day');
  return { day, filesBefore: groups.flat().length, filesAfter: written.length, records, snapshotId };
}

/**
 * Commits a snapshot removing `removed` (and adding `added`), rebasing on
 * whatever landed meanwhile (appends to other days do not matter; if any
 * removed file is already gone, FilesGoneError).
 */
export async function commitReplacing(catalog: Catalog, first: LoadedTable, snapshotId: number, operation: 'replace' | 'delete', removed: Set<string>, added: DataFile[], addedManifests: Awaited<ReturnType<typeof writeManifest>>[], attempts = 20): Promise<LoadedTable> {
  let base = first;
  let unsure = false;
  for (let attempt = 1; ; attempt++) {
    const parent = currentSnapshot(base.metadata);
    const { manifests, removedFiles } = await rewriteWithout(base, parent, snapshotId, removed);
    try {
      return await commitSnapshot(catalog, base, {
        snapshotId, operation,
        manifests: [...addedManifests, ...manifests],
        keepParentManifests: false,
        added, removed: removedFiles,
        // The committed-sequence set is the table's, not this commit's: carry it.
        extra: seqset.toSummary(seqset.fromSummary(parent?.summary)),
      });
    } catch (err) {
      unsure ||= err instanceof CommitStateUnknownError;
      const retry = err instanceof CommitConflictError || err instanceof CommitStateUnknownError;
      if (!retry || attempt >= attempts) {
        // The caller deletes what it wrote unless told an attempt may still land.
        if (unsure && !(err instanceof CommitStateUnknownError)) throw new CommitStateUnknownError(`${(err as Error).message}, after an attempt whose outcome is unknown`);
        throw err;
      }
      base = (await catalog.load())!;
      if (landed(base, snapshotId)) return base;
      // A commit of unknown state not visible yet may still be applied by the
      // server: only a refused one's manifests are garbage; the rest are left
      // to the orphan sweep, whose grace outlasts any request.
      if (err instanceof CommitConflictError) await Promise.all(manifests.map((m) => deleteLocation(m.path)));
    }
  }
}

export { FilesGoneError };
