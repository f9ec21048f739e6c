// Iceberg v2 table metadata (the metadata JSON file) and the commit protocol
// both catalogs share: a commit is a list of requirements (what the writer
// assumed) and updates (what it changes), the REST catalog's vocabulary. The
// filesystem catalog applies the same updates itself with applyCommit, so one
// writer code path serves both catalogs.
import { randomUUID } from 'node:crypto';
import { partitionSpecJson, schemaJson, sortOrderJson, PARTITION_FIELD_ID, type IcebergSchemaJson, type PartitionSpecJson, type SortOrderJson } from './schema.js';

export interface Snapshot {
  'snapshot-id': number;
  'parent-snapshot-id'?: number;
  'sequence-number': number;
  'timestamp-ms': number;
  'manifest-list': string;
  summary: { operation: 'append' | 'replace' | 'overwrite' | 'delete' } & Record<string, string>;
  'schema-id': number;
}

export interface SnapshotRef {
  'snapshot-id': number;
  type: 'branch' | 'tag';
  [k: string]: unknown;
}

export interface TableMetadata {
  'format-version': 2;
  'table-uuid': string;
  location: string;
  'last-sequence-number': number;
  'last-updated-ms': number;
  'last-column-id': number;
  'current-schema-id': number;
  schemas: IcebergSchemaJson[];
  'default-spec-id': number;
  'partition-specs': PartitionSpecJson[];
  'last-partition-id': number;
  'default-sort-order-id': number;
  'sort-orders': SortOrderJson[];
  properties: Record<string, string>;
  'current-snapshot-id'?: number | null;
  snapshots?: Snapshot[];
  'snapshot-log'?: { 'snapshot-id': number; 'timestamp-ms': number }[];
  'metadata-log'?: { 'metadata-file': string; 'timestamp-ms': number }[];
  refs?: Record<string, SnapshotRef>;
  [k: string]: unknown;
}

export type Requirement =
  | { type: 'assert-table-uuid'; uuid: string }
  | { type: 'assert-ref-snapshot-id'; ref: string; 'snapshot-id': number | null };

export type Update =
  | { action: 'add-snapshot'; snapshot: Snapshot }
  | { action: 'set-snapshot-ref'; 'ref-name': string; type: 'branch'; 'snapshot-id': number }
  | { action: 'remove-snapshots'; 'snapshot-ids': number[] }
  | { action: 'set-properties'; updates: Record<string, string> };

export interface Commit { requirements: Requirement[]; updates: Update[] }

/** Another commit got there first: reload and try again. */
export class CommitConflictError extends Error {
  override name = 'CommitConflictError';
}

/** The commit failed in a way that leaves its outcome unknown (a REST server's 5xx, a late link): reload and look. */
export class CommitStateUnknownError extends Error {
  override name = 'CommitStateUnknownError';
}

/** Properties every table we create carries; they tell other engines how it is written. */
export const TABLE_PROPERTIES: Record<string, string> = {
  'write.format.default': 'parquet',
  'write.parquet.compression-codec': 'zstd',
  // Bounds are written untruncated (addresses are at most 39 characters).
  'write.metadata.metrics.default': 'full',
  'write.metadata.delete-after-commit.enabled': 'true',
  'write.metadata.previous-versions-max': '20',
};

/** What a table is made of besides its data: the netflow table's by default (rollup tables have their own). */
export interface TableLayout { schema: IcebergSchemaJson; sortOrder: SortOrderJson }

export function netflowLayout(): TableLayout {
  return { schema: schemaJson(), sortOrder: sortOrderJson() };
}

export function newTableMetadata(location: string, properties: Record<string, string> = {}, now = Date.now(), layout: TableLayout = netflowLayout()): TableMetadata {
  return {
    'format-version': 2,
    'table-uuid': randomUUID(),
    location,
    'last-sequence-number': 0,
    'last-updated-ms': now,
    'last-column-id': Math.max(...layout.schema.fields.map((c) => c.id)),
    'current-schema-id': layout.schema['schema-id'],
    schemas: [layout.schema],
    'default-spec-id': 0,
    'partition-specs': [partitionSpecJson()],
    'last-partition-id': PARTITION_FIELD_ID,
    'default-sort-order-id': layout.sortOrder['order-id'],
    'sort-orders': [layout.sortOrder],
    properties: { ...TABLE_PROPERTIES, ...properties },
    'current-snapshot-id': -1,
    snapshots: [],
    'snapshot-log': [],
    'metadata-log': [],
    refs: {},
    statistics: [],
    'partition-statistics': [],
  };
}

const ID_KEYS = /"(snapshot-id|parent-snapshot-id|current-snapshot-id)"\s*:\s*(-?\d{16,})/g;

/**
 * Parses a metadata JSON file. Snapshot ids are 64-bit; ours stay below 2^53
 * so they are exact as JavaScript numbers, and a table whose ids do not is
 * refused rather than silently misread.
 */
export function parseMetadata(text: string, where: string): TableMetadata {
  for (const m of text.matchAll(ID_KEYS)) {
    if (!Number.isSafeInteger(Number(m[2]))) throw new Error(`${where}: ${m[1]} ${m[2]} is beyond 2^53, which this writer cannot represent exactly`);
  }
  const md = JSON.parse(text) as TableMetadata;
  if (md['format-version'] !== 2) throw new Error(`${where}: format-version ${md['format-version']} is not supported (this writer writes v2 tables)`);
  return md;
}

export function currentSnapshot(md: TableMetadata): Snapshot | undefined {
  const id = md.refs?.main?.['snapshot-id'] ?? md['current-snapshot-id'];
  if (id === undefined || id === null || id === -1) return undefined;
  return md.snapshots?.find((s) => s['snapshot-id'] === id);
}

/** A fresh snapshot id: positive, random, below 2^53. */
export function newSnapshotId(): number {
  const hi = Math.floor(Math.random() * 2 ** 21);
  const lo = Math.floor(Math.random() * 2 ** 32);
  return hi * 2 ** 32 + lo || 1;
}

export function checkRequirements(md: TableMetadata, requirements: Requirement[]): void {
  for (const r of requirements) {
    if (r.type === 'assert-table-uuid' && md['table-uuid'] !== r.uuid) {
      throw new CommitConflictError(`table uuid is ${md['table-uuid']}, expected ${r.uuid}`);
    }
    if (r.type === 'assert-ref-snapshot-id') {
      const actual = md.refs?.[r.ref]?.['snapshot-id'] ?? null;
      if (actual !== r['snapshot-id']) throw new CommitConflictError(`branch ${r.ref} is at snapshot ${actual}, expected ${r['snapshot-id']}`);
    }
  }
}

/** The metadata after a commit, as a catalog computes it; throws CommitConflictError when a requirement fails. */
export function applyCommit(base: TableMetadata, commit: Commit, now = Date.now()): TableMetadata {
  checkRequirements(base, commit.requirements);
  const md: TableMetadata = {
    ...base,
    snapshots: [...(base.snapshots ?? [])],
    refs: { ...(base.refs ?? {}) },
    'snapshot-log': [...(base['snapshot-log'] ?? [])],
    properties: { ...base.properties },
    'last-updated-ms': Math.max(now, base['last-updated-ms'] + 1),
  };
  for (const u of commit.updates) {
    switch (u.action) {
      case 'add-snapshot': {
        const s = u.snapshot;
        if (s['sequence-number'] <= md['last-sequence-number']) {
          throw new CommitConflictError(`snapshot ${s['snapshot-id']} has sequence number ${s['sequence-number']}, not above ${md['last-sequence-number']}`);
        }
        if (md.snapshots!.some((x) => x['snapshot-id'] === s['snapshot-id'])) throw new Error(`snapshot ${s['snapshot-id']} already exists`);
        md.snapshots!.push(s);
        md['last-sequence-number'] = s['sequence-number'];
        break;
      }
      case 'set-snapshot-ref': {
        const s = md.snapshots!.find((x) => x['snapshot-id'] === u['snapshot-id']);
        if (!s) throw new Error(`set-snapshot-ref: no snapshot ${u['snapshot-id']}`);
        md.refs![u['ref-name']] = { 'snapshot-id': u['snapshot-id'], type: u.type };
        if (u['ref-name'] === 'main') {
          md['current-snapshot-id'] = u['snapshot-id'];
          md['snapshot-log']!.push({ 'snapshot-id': u['snapshot-id'], 'timestamp-ms': s['timestamp-ms'] });
        }
        break;
      }
      case 'remove-snapshots': {
        const gone = new Set(u['snapshot-ids']);
        const referenced = Object.values(md.refs!).map((r) => r['snapshot-id']);
        for (const id of referenced) if (gone.has(id)) throw new Error(`remove-snapshots: snapshot ${id} is referenced by a branch or tag`);
        md.snapshots = md.snapshots!.filter((s) => !gone.has(s['snapshot-id']));
        md['snapshot-log'] = md['snapshot-log']!.filter((e) => !gone.has(e['snapshot-id']));
        break;
      }
      case 'set-properties':
        Object.assign(md.properties, u.updates);
        break;
    }
  }
  return md;
}

/** The snapshot that was current at `ms` (by the snapshot log), or undefined before the first. */
export function snapshotAsOfTime(md: TableMetadata, ms: number): Snapshot | undefined {
  const log = md['snapshot-log'] ?? [];
  let id: number | undefined;
  for (const e of log) if (e['timestamp-ms'] <= ms) id = e['snapshot-id'];
  if (id === undefined) {
    // The log may have been trimmed by expiry; fall back to snapshot times.
    const before = (md.snapshots ?? []).filter((s) => s['timestamp-ms'] <= ms).sort((a, b) => a['timestamp-ms'] - b['timestamp-ms']);
    return before.at(-1);
  }
  return md.snapshots?.find((s) => s['snapshot-id'] === id);
}
