// Building and committing one snapshot: the manifest list (the parent's
// manifests plus this commit's, or a full rewrite for replace/delete), the
// snapshot summary with its running totals, and the catalog commit that
// asserts the parent is still current. Shared by appends, compaction and
// retention; each names the points a crash test may stop it at.
import { randomUUID } from 'node:crypto';
import type { Catalog, LoadedTable } from './catalog.js';
import { childLocation, writeNewFile } from './io.js';
import { assignSequenceNumbers, encodeManifest, encodeManifestList, STATUS, summarizeManifest, type DataFile, type ManifestEntry, type ManifestFile } from './manifest.js';
import { CommitStateUnknownError, currentSnapshot, type Commit, type Snapshot } from './metadata.js';
import { SCHEMA_ID } from './schema.js';
import { liveEntries, readManifest, readManifestList } from './table.js';

export type CrashPoint = 'after-data' | 'after-manifest' | 'after-manifest-list' | 'before-swap' | 'after-swap';
export const CRASH_POINTS: readonly CrashPoint[] = ['after-data', 'after-manifest', 'after-manifest-list', 'before-swap', 'after-swap'];

/**
 * A test hook: SRNF_ICEBERG_CRASH_AT=<point> kills the process with SIGKILL
 * when a commit reaches that point (the way a power cut or OOM kill would).
 */
export function crashPoint(point: CrashPoint): void {
  if (process.env.SRNF_ICEBERG_CRASH_AT === point) process.kill(process.pid, 'SIGKILL');
}

export function metadataLocation(table: LoadedTable, name: string): string {
  return childLocation(childLocation(table.metadata.location, 'metadata'), name);
}

/** Writes a manifest of `entries` for snapshot `snapshotId` and returns its list entry. */
export async function writeManifest(table: LoadedTable, snapshotId: number, entries: ManifestEntry[]): Promise<ManifestFile> {
  const md = table.metadata;
  const bytes = await encodeManifest(entries, md.schemas.find((x) => x['schema-id'] === md['current-schema-id']));
  const location = metadataLocation(table, `${randomUUID()}-m0.avro`);
  await writeNewFile(location, bytes);
  return summarizeManifest(location, bytes.length, snapshotId, entries);
}

export function addedEntries(files: DataFile[]): ManifestEntry[] {
  return files.map((file) => ({ status: STATUS.ADDED, snapshotId: null, sequenceNumber: null, fileSequenceNumber: null, file }));
}

/**
 * Manifests for a snapshot that removes `removed` from the parent: one
 * manifest rewriting every live entry of the parent, removed ones as DELETED
 * and the rest as EXISTING (with their original sequence numbers, as the spec
 * requires). Rewriting them all also merges the many small append manifests.
 */
export async function rewriteWithout(table: LoadedTable, parent: Snapshot | undefined, snapshotId: number, removed: Set<string>): Promise<{ manifests: ManifestFile[]; removedFiles: DataFile[] }> {
  const entries: ManifestEntry[] = [];
  const removedFiles: DataFile[] = [];
  for (const { entry } of await liveEntries(parent)) {
    const gone = removed.has(entry.file.path);
    if (gone) removedFiles.push(entry.file);
    entries.push({ ...entry, status: gone ? STATUS.DELETED : STATUS.EXISTING, snapshotId: gone ? snapshotId : entry.snapshotId });
  }
  if (removedFiles.length !== removed.size) throw new FilesGoneError(`${removed.size - removedFiles.length} of the files to remove are no longer in the table`);
  return { manifests: entries.length ? [await writeManifest(table, snapshotId, entries)] : [], removedFiles };
}

/** A replace or delete lost a race: some of its files were removed by another commit. */
export class FilesGoneError extends Error {
  override name = 'FilesGoneError';
}

/** Manifests an append inherits before the small ones are folded into one. */
export const MERGE_MANIFESTS_AT = 100;
/** A manifest listing fewer live files than this is small. */
export const SMALL_MANIFEST_FILES = 1000;

export interface SnapshotPlan {
  snapshotId: number;
  operation: Snapshot['summary']['operation'];
  /** Manifests of this snapshot besides the parent's kept ones. */
  manifests: ManifestFile[];
  /** Keep the parent's manifests (append) or not (they were rewritten into `manifests`). */
  keepParentManifests: boolean;
  added: DataFile[];
  removed: DataFile[];
  /** serviceradar.* summary properties. */
  extra: Record<string, string>;
}

/** Writes the manifest list and commits the snapshot on top of `base`'s current snapshot. */
export async function commitSnapshot(catalog: Catalog, base: LoadedTable, plan: SnapshotPlan): Promise<LoadedTable> {
  const parent = currentSnapshot(base.metadata);
  const sequenceNumber = base.metadata['last-sequence-number'] + 1;
  let ours = plan.manifests;
  let inherited = plan.keepParentManifests && parent ? await readManifestList(parent) : [];
  // Each append adds a manifest and every commit rewrites the list of them
  // all: past MERGE_MANIFESTS_AT the small ones are folded into one. Large
  // ones stay as they are, so a fold never reads or rewrites the whole table.
  if (inherited.length >= MERGE_MANIFESTS_AT) {
    const small = inherited.filter((m) => m.addedFilesCount + m.existingFilesCount < SMALL_MANIFEST_FILES);
    if (small.length > 1) {
      const entries = (await Promise.all(small.map(readManifest))).flat()
        .filter((e) => e.status !== STATUS.DELETED)
        .map((e) => ({ ...e, status: STATUS.EXISTING }));
      if (entries.length) ours = [...ours, await writeManifest(base, plan.snapshotId, entries)];
      inherited = inherited.filter((m) => !small.includes(m));
    }
  }
  const manifests = [...assignSequenceNumbers(ours, sequenceNumber), ...inherited];
  const listBytes = await encodeManifestList(manifests, { snapshotId: plan.snapshotId, parentId: parent?.['snapshot-id'] ?? null, sequenceNumber });
  const listLocation = metadataLocation(base, `snap-${plan.snapshotId}-${sequenceNumber}-${randomUUID()}.avro`);
  await writeNewFile(listLocation, listBytes);
  crashPoint('after-manifest-list');
  const snapshot: Snapshot = {
    'snapshot-id': plan.snapshotId,
    ...(parent ? { 'parent-snapshot-id': parent['snapshot-id'] } : {}),
    'sequence-number': sequenceNumber,
    'timestamp-ms': Math.max(Date.now(), (parent?.['timestamp-ms'] ?? 0) + 1),
    'manifest-list': listLocation,
    summary: { operation: plan.operation, ...summaryTotals(parent?.summary, plan.added, plan.removed), ...plan.extra },
    'schema-id': SCHEMA_ID,
  };
  const commit: Commit = {
    requirements: [
      { type: 'assert-table-uuid', uuid: base.metadata['table-uuid'] },
      { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': parent?.['snapshot-id'] ?? null },
    ],
    updates: [
      { action: 'add-snapshot', snapshot },
      { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': plan.snapshotId },
    ],
  };
  crashPoint('before-swap');
  const after = await catalog.commit(base, commit);
  crashPoint('after-swap');
  return after;
}

export function landed(table: LoadedTable, snapshotId: number): boolean {
  return table.metadata.snapshots?.some((s) => s['snapshot-id'] === snapshotId) ?? false;
}

/**
 * After a commit of snapshotId failed with err: whether it landed after all
 * (an error after the swap), was refused (its files are garbage), or may
 * still land (a REST request whose outcome is unknown, or a table that cannot
 * be read to tell: its files are left to the orphan sweep).
 */
export async function commitOutcome(catalog: Catalog, snapshotId: number, err: unknown): Promise<'landed' | 'refused' | 'unknown'> {
  const now = await catalog.load().catch(() => undefined);
  if (!now) return 'unknown';
  if (landed(now, snapshotId)) return 'landed';
  return err instanceof CommitStateUnknownError ? 'unknown' : 'refused';
}

/** The spec's snapshot summary metrics: this commit's changes and the table's running totals. */
export function summaryTotals(parent: Record<string, string> | undefined, added: DataFile[], removed: DataFile[]): Record<string, string> {
  const total = (key: string) => Number(parent?.[key] ?? 0);
  const rows = (fs: DataFile[]) => fs.reduce((n, f) => n + f.recordCount, 0);
  const bytes = (fs: DataFile[]) => fs.reduce((n, f) => n + f.fileSizeBytes, 0);
  const partitions = new Set([...added, ...removed].map((f) => f.partitionDay));
  const out: Record<string, string> = {
    'changed-partition-count': String(partitions.size),
    'total-records': String(total('total-records') + rows(added) - rows(removed)),
    'total-files-size': String(total('total-files-size') + bytes(added) - bytes(removed)),
    'total-data-files': String(total('total-data-files') + added.length - removed.length),
    'total-delete-files': '0',
    'total-position-deletes': '0',
    'total-equality-deletes': '0',
  };
  if (added.length) Object.assign(out, { 'added-data-files': String(added.length), 'added-records': String(rows(added)), 'added-files-size': String(bytes(added)) });
  if (removed.length) Object.assign(out, { 'deleted-data-files': String(removed.length), 'deleted-records': String(rows(removed)), 'removed-files-size': String(bytes(removed)) });
  return out;
}
