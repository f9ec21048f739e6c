// Iceberg v2 manifests and manifest lists as Avro object container files
// (spec: "Manifests" and "Manifest Lists"). Every Avro field carries its
// Iceberg field id, because readers resolve manifest columns by id, and the
// file metadata carries the table schema and partition spec the manifest was
// written with. Pure encode/decode: no file system here.
import { Readable } from 'node:stream';
import avsc from 'avsc';
import { PARTITION_FIELD_ID, PARTITION_FIELD_NAME, partitionSpecJson, schemaJson, SPEC_ID } from './schema.js';

export const STATUS = { EXISTING: 0, ADDED: 1, DELETED: 2 } as const;
export type EntryStatus = (typeof STATUS)[keyof typeof STATUS];

/** One Parquet data file as a manifest describes it. */
export interface DataFile {
  path: string;
  recordCount: number;
  fileSizeBytes: number;
  /** The day(timestamp) partition value: days since the epoch. */
  partitionDay: number;
  columnSizes: Map<number, number>;
  valueCounts: Map<number, number>;
  nullValueCounts: Map<number, number>;
  lowerBounds: Map<number, Buffer>;
  upperBounds: Map<number, Buffer>;
  sortOrderId: number | null;
}

export interface ManifestEntry {
  status: EntryStatus;
  /** null in a new manifest: inherited from the manifest list entry (the adding snapshot). */
  snapshotId: number | null;
  /** Data sequence number; null for ADDED entries, which inherit the snapshot's. */
  sequenceNumber: number | null;
  fileSequenceNumber: number | null;
  file: DataFile;
}

export interface PartitionSummary {
  containsNull: boolean;
  containsNan: boolean | null;
  lowerBound: Buffer | null;
  upperBound: Buffer | null;
}

/** A manifest list entry. Sequence numbers are null until the commit assigns them. */
export interface ManifestFile {
  path: string;
  length: number;
  specId: number;
  content: 0;
  sequenceNumber: number | null;
  minSequenceNumber: number | null;
  addedSnapshotId: number;
  addedFilesCount: number;
  existingFilesCount: number;
  deletedFilesCount: number;
  addedRowsCount: number;
  existingRowsCount: number;
  deletedRowsCount: number;
  partitions: PartitionSummary[];
}

const optional = (type: unknown) => ['null', type];

function mapType(keyId: number, valueId: number, valueType: string) {
  return {
    type: 'array',
    logicalType: 'map',
    items: {
      type: 'record',
      name: `k${keyId}_v${valueId}`,
      fields: [
        { name: 'key', type: 'int', 'field-id': keyId },
        { name: 'value', type: valueType, 'field-id': valueId },
      ],
    },
  };
}

const field = (name: string, id: number, type: unknown, isOptional = false) =>
  isOptional ? { name, type: optional(type), default: null, 'field-id': id } : { name, type, 'field-id': id };

const MANIFEST_ENTRY_SCHEMA = {
  type: 'record',
  name: 'manifest_entry',
  fields: [
    field('status', 0, 'int'),
    field('snapshot_id', 1, 'long', true),
    field('sequence_number', 3, 'long', true),
    field('file_sequence_number', 4, 'long', true),
    field('data_file', 2, {
      type: 'record',
      name: 'r2',
      fields: [
        field('content', 134, 'int'),
        field('file_path', 100, 'string'),
        field('file_format', 101, 'string'),
        field('partition', 102, {
          type: 'record',
          name: 'r102',
          fields: [field(PARTITION_FIELD_NAME, PARTITION_FIELD_ID, { type: 'int', logicalType: 'date' }, true)],
        }),
        field('record_count', 103, 'long'),
        field('file_size_in_bytes', 104, 'long'),
        field('column_sizes', 108, mapType(117, 118, 'long'), true),
        field('value_counts', 109, mapType(119, 120, 'long'), true),
        field('null_value_counts', 110, mapType(121, 122, 'long'), true),
        field('nan_value_counts', 137, mapType(138, 139, 'long'), true),
        field('lower_bounds', 125, mapType(126, 127, 'bytes'), true),
        field('upper_bounds', 128, mapType(129, 130, 'bytes'), true),
        field('key_metadata', 131, 'bytes', true),
        field('split_offsets', 132, { type: 'array', items: 'long', 'element-id': 133 }, true),
        field('equality_ids', 135, { type: 'array', items: 'int', 'element-id': 136 }, true),
        field('sort_order_id', 140, 'int', true),
      ],
    }),
  ],
};

const MANIFEST_FILE_SCHEMA = {
  type: 'record',
  name: 'manifest_file',
  fields: [
    field('manifest_path', 500, 'string'),
    field('manifest_length', 501, 'long'),
    field('partition_spec_id', 502, 'int'),
    field('content', 517, 'int'),
    field('sequence_number', 515, 'long'),
    field('min_sequence_number', 516, 'long'),
    field('added_snapshot_id', 503, 'long'),
    field('added_files_count', 504, 'int'),
    field('existing_files_count', 505, 'int'),
    field('deleted_files_count', 506, 'int'),
    field('added_rows_count', 512, 'long'),
    field('existing_rows_count', 513, 'long'),
    field('deleted_rows_count', 514, 'long'),
    field('partitions', 507, {
      type: 'array',
      'element-id': 508,
      items: {
        type: 'record',
        name: 'r508',
        fields: [
          field('contains_null', 509, 'boolean'),
          field('contains_nan', 518, 'boolean', true),
          field('lower_bound', 510, 'bytes', true),
          field('upper_bound', 511, 'bytes', true),
        ],
      },
    }, true),
    field('key_metadata', 519, 'bytes', true),
  ],
};

type KV<V> = { key: number; value: V }[];
const toKV = <V>(m: Map<number, V>): KV<V> => [...m].map(([key, value]) => ({ key, value }));
const fromKV = <V>(kv: KV<V> | null): Map<number, V> => new Map((kv ?? []).map((e) => [e.key, e.value]));

async function encodeAvro(schema: object, records: object[], metadata: Record<string, string>): Promise<Buffer> {
  const meta = Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, Buffer.from(v)]));
  const encoder = new avsc.streams.BlockEncoder(schema, { codec: 'deflate', metadata: meta });
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    encoder.on('data', (c: Buffer) => chunks.push(c));
    encoder.on('end', resolve);
    encoder.on('error', reject);
  });
  for (const r of records) encoder.write(r);
  encoder.end();
  await done;
  return Buffer.concat(chunks);
}

async function decodeAvro<T>(bytes: Buffer): Promise<{ records: T[]; metadata: Record<string, string> }> {
  const decoder = new avsc.streams.BlockDecoder();
  const records: T[] = [];
  let metadata: Record<string, string> = {};
  decoder.on('metadata', (_type, _codec, header) => {
    metadata = Object.fromEntries(Object.entries(header.meta).map(([k, v]) => [k, v.toString()]));
  });
  const done = new Promise<void>((resolve, reject) => {
    decoder.on('data', (r: T) => records.push(r));
    decoder.on('end', resolve);
    decoder.on('error', reject);
  });
  Readable.from([bytes]).pipe(decoder);
  await done;
  return { records, metadata };
}

interface AvroEntry {
  status: number;
  snapshot_id: number | null;
  sequence_number: number | null;
  file_sequence_number: number | null;
  data_file: {
    content: number;
    file_path: string;
    file_format: string;
    partition: Record<string, number | null>;
    record_count: number;
    file_size_in_bytes: number;
    column_sizes: KV<number> | null;
    value_counts: KV<number> | null;
    null_value_counts: KV<number> | null;
    nan_value_counts: KV<number> | null;
    lower_bounds: KV<Buffer> | null;
    upper_bounds: KV<Buffer> | null;
    key_metadata: Buffer | null;
    split_offsets: number[] | null;
    equality_ids: number[] | null;
    sort_order_id: number | null;
  };
}

function toAvroEntry(e: ManifestEntry): AvroEntry {
  const f = e.file;
  return {
    status: e.status,
    snapshot_id: e.snapshotId,
    sequence_number: e.sequenceNumber,
    file_sequence_number: e.fileSequenceNumber,
    data_file: {
      content: 0,
      file_path: f.path,
      file_format: 'PARQUET',
      partition: { [PARTITION_FIELD_NAME]: f.partitionDay },
      record_count: f.recordCount,
      file_size_in_bytes: f.fileSizeBytes,
      column_sizes: toKV(f.columnSizes),
      value_counts: toKV(f.valueCounts),
      null_value_counts: toKV(f.nullValueCounts),
      nan_value_counts: null,
      lower_bounds: toKV(f.lowerBounds),
      upper_bounds: toKV(f.upperBounds),
      key_metadata: null,
      split_offsets: null,
      equality_ids: null,
      sort_order_id: f.sortOrderId,
    },
  };
}

/** A manifest file's bytes: entries of one partition spec, with the schema and spec in its metadata. */
export function encodeManifest(entries: ManifestEntry[], schema: { 'schema-id': number } = schemaJson()): Promise<Buffer> {
  return encodeAvro(MANIFEST_ENTRY_SCHEMA, entries.map(toAvroEntry), {
    schema: JSON.stringify(schema),
    'schema-id': String(schema['schema-id']),
    'partition-spec': JSON.stringify(partitionSpecJson().fields),
    'partition-spec-id': String(SPEC_ID),
    'format-version': '2',
    content: 'data',
  });
}

/**
 * Reads a manifest, applying the spec's inheritance: an entry without a
 * snapshot id or sequence number takes its manifest's (only ADDED entries may
 * omit them).
 */
export async function decodeManifest(bytes: Buffer, manifest: ManifestFile): Promise<ManifestEntry[]> {
  const { records } = await decodeAvro<AvroEntry>(bytes);
  return records.map((r) => {
    const d = r.data_file;
    if (d.content !== 0) throw new Error(`manifest ${manifest.path}: delete files (content ${d.content}) are not supported`);
    const day = d.partition[PARTITION_FIELD_NAME];
    if (day === undefined || day === null) throw new Error(`manifest ${manifest.path}: data file ${d.file_path} has no ${PARTITION_FIELD_NAME} partition value`);
    const inherit = r.status === STATUS.ADDED ? manifest.sequenceNumber : null;
    return {
      status: r.status as EntryStatus,
      snapshotId: r.snapshot_id ?? manifest.addedSnapshotId,
      sequenceNumber: r.sequence_number ?? inherit,
      fileSequenceNumber: r.file_sequence_number ?? inherit,
      file: {
        path: d.file_path,
        recordCount: d.record_count,
        fileSizeBytes: d.file_size_in_bytes,
        partitionDay: day,
        columnSizes: fromKV(d.column_sizes),
        valueCounts: fromKV(d.value_counts),
        nullValueCounts: fromKV(d.null_value_counts),
        lowerBounds: fromKV(d.lower_bounds),
        upperBounds: fromKV(d.upper_bounds),
        sortOrderId: d.sort_order_id,
      },
    };
  });
}

/** The manifest list entry for a manifest just written (sequence numbers assigned at commit). */
export function summarizeManifest(path: string, length: number, addedSnapshotId: number, entries: ManifestEntry[]): ManifestFile {
  const count = (s: EntryStatus) => entries.filter((e) => e.status === s);
  const rows = (es: ManifestEntry[]) => es.reduce((n, e) => n + e.file.recordCount, 0);
  const days = entries.map((e) => e.file.partitionDay);
  const explicit = entries.map((e) => e.sequenceNumber).filter((s): s is number => s !== null);
  return {
    path, length, specId: SPEC_ID, content: 0,
    sequenceNumber: null,
    // Known now only when every entry carries its own; otherwise the commit fills it in.
    minSequenceNumber: explicit.length === entries.length && explicit.length ? Math.min(...explicit) : null,
    addedSnapshotId,
    addedFilesCount: count(STATUS.ADDED).length,
    existingFilesCount: count(STATUS.EXISTING).length,
    deletedFilesCount: count(STATUS.DELETED).length,
    addedRowsCount: rows(count(STATUS.ADDED)),
    existingRowsCount: rows(count(STATUS.EXISTING)),
    deletedRowsCount: rows(count(STATUS.DELETED)),
    partitions: [days.length
      ? { containsNull: false, containsNan: false, lowerBound: intBound(Math.min(...days)), upperBound: intBound(Math.max(...days)) }
      : { containsNull: false, containsNan: false, lowerBound: null, upperBound: null }],
  };
}

function intBound(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return b;
}

/**
 * Gives manifests written for this commit their sequence numbers: the new
 * snapshot's, and as minimum the smaller of it and their own entries'.
 */
export function assignSequenceNumbers(manifests: ManifestFile[], sequenceNumber: number): ManifestFile[] {
  return manifests.map((m) => (m.sequenceNumber !== null ? m : {
    ...m,
    sequenceNumber,
    minSequenceNumber: m.minSequenceNumber === null ? sequenceNumber : Math.min(m.minSequenceNumber, sequenceNumber),
  }));
}

interface AvroManifestFile {
  manifest_path: string;
  manifest_length: number;
  partition_spec_id: number;
  content: number;
  sequence_number: number;
  min_sequence_number: number;
  added_snapshot_id: number;
  added_files_count: number;
  existing_files_count: number;
  deleted_files_count: number;
  added_rows_count: number;
  existing_rows_count: number;
  deleted_rows_count: number;
  partitions: { contains_null: boolean; contains_nan: boolean | null; lower_bound: Buffer | null; upper_bound: Buffer | null }[] | null;
  key_metadata: Buffer | null;
}

export function encodeManifestList(manifests: ManifestFile[], snapshot: { snapshotId: number; parentId: number | null; sequenceNumber: number }): Promise<Buffer> {
  const records: AvroManifestFile[] = manifests.map((m) => {
    if (m.sequenceNumber === null || m.minSequenceNumber === null) throw new Error(`manifest ${m.path} has no sequence number; call assignSequenceNumbers first`);
    return {
      manifest_path: m.path,
      manifest_length: m.length,
      partition_spec_id: m.specId,
      content: m.content,
      sequence_number: m.sequenceNumber,
      min_sequence_number: m.minSequenceNumber,
      added_snapshot_id: m.addedSnapshotId,
      added_files_count: m.addedFilesCount,
      existing_files_count: m.existingFilesCount,
      deleted_files_count: m.deletedFilesCount,
      added_rows_count: m.addedRowsCount,
      existing_rows_count: m.existingRowsCount,
      deleted_rows_count: m.deletedRowsCount,
      partitions: m.partitions.map((p) => ({ contains_null: p.containsNull, contains_nan: p.containsNan, lower_bound: p.lowerBound, upper_bound: p.upperBound })),
      key_metadata: null,
    };
  });
  return encodeAvro(MANIFEST_FILE_SCHEMA, records, {
    'snapshot-id': String(snapshot.snapshotId),
    'parent-snapshot-id': snapshot.parentId === null ? 'null' : String(snapshot.parentId),
    'sequence-number': String(snapshot.sequenceNumber),
    'format-version': '2',
  });
}

export async function decodeManifestList(bytes: Buffer): Promise<ManifestFile[]> {
  const { records } = await decodeAvro<AvroManifestFile>(bytes);
  return records.map((r) => {
    if (r.content !== 0) throw new Error(`manifest ${r.manifest_path}: delete manifests are not supported`);
    return {
      path: r.manifest_path,
      length: r.manifest_length,
      specId: r.partition_spec_id,
      content: 0,
      sequenceNumber: r.sequence_number,
      minSequenceNumber: r.min_sequence_number,
      addedSnapshotId: r.added_snapshot_id,
      addedFilesCount: r.added_files_count,
      existingFilesCount: r.existing_files_count,
      deletedFilesCount: r.deleted_files_count,
      addedRowsCount: r.added_rows_count,
      existingRowsCount: r.existing_rows_count,
      deletedRowsCount: r.deleted_rows_count,
      partitions: (r.partitions ?? []).map((p) => ({ containsNull: p.contains_null, containsNan: p.contains_nan, lowerBound: p.lower_bound, upperBound: p.upper_bound })),
    };
  });
}
