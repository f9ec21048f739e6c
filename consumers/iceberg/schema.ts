// The Iceberg table's schema, derived from the proto field table: one column per
// NetFlowRecord field, the field number as the Iceberg field id (stable for the
// life of the table), and the partition spec day(timestamp).
//
// Types: the three millisecond times become `timestamptz` (microseconds, UTC),
// which is what day() partitioning and every engine's time functions expect;
// strings stay strings; every integer is `long`. Iceberg has no unsigned types,
// and a uint32 (ifIndex, AS number, source id) does not fit an `int`; small
// values in a long column cost nearly nothing after dictionary/zstd encoding.
import { RECORD_FIELDS, type FieldName } from '../../common/flow.js';

export type IcebergType = 'timestamptz' | 'string' | 'long';

export interface Column {
  name: FieldName;
  /** Iceberg field id = proto field number. */
  id: number;
  type: IcebergType;
  /** The DuckDB type to read the column as. */
  duckdb: 'TIMESTAMPTZ' | 'VARCHAR' | 'BIGINT';
}

const TIME_FIELDS = new Set<string>(['timestamp', 'flow_start', 'time_received']);

function icebergType(name: string, protoType: string): IcebergType {
  if (TIME_FIELDS.has(name)) return 'timestamptz';
  if (protoType === 'string') return 'string';
  if (['int64', 'uint64', 'uint32'].includes(protoType)) return 'long';
  throw new Error(`no Iceberg type for proto field ${name} (${protoType})`);
}

const DUCKDB_TYPE = { timestamptz: 'TIMESTAMPTZ', string: 'VARCHAR', long: 'BIGINT' } as const;

/** The table's columns in proto order. */
export const COLUMNS: readonly Column[] = RECORD_FIELDS.map((f) => {
  const type = icebergType(f.name, f.type);
  return { name: f.name, id: f.id, type, duckdb: DUCKDB_TYPE[type] };
});

export const SCHEMA_ID = 0;
export const SPEC_ID = 0;
export const SORT_ORDER_ID = 1;
/** Partition field ids start at 1000 by the spec's convention. */
export const PARTITION_FIELD_ID = 1000;
export const PARTITION_FIELD_NAME = 'timestamp_day';
export const TIMESTAMP_FIELD_ID = COLUMNS.find((c) => c.name === 'timestamp')!.id;

export interface IcebergSchemaJson {
  type: 'struct';
  'schema-id': number;
  fields: { id: number; name: string; required: boolean; type: string; doc?: string }[];
}

export function schemaJson(): IcebergSchemaJson {
  return {
    type: 'struct',
    'schema-id': SCHEMA_ID,
    fields: COLUMNS.map((c) => ({ id: c.id, name: c.name, required: true, type: c.type })),
  };
}

export interface PartitionSpecJson {
  'spec-id': number;
  fields: { name: string; transform: string; 'source-id': number; 'field-id': number }[];
}

export function partitionSpecJson(): PartitionSpecJson {
  return { 'spec-id': SPEC_ID, fields: [{ name: PARTITION_FIELD_NAME, transform: 'day', 'source-id': TIMESTAMP_FIELD_ID, 'field-id': PARTITION_FIELD_ID }] };
}

export interface SortOrderJson {
  'order-id': number;
  fields: { transform: string; 'source-id': number; direction: 'asc' | 'desc'; 'null-order': 'nulls-first' | 'nulls-last' }[];
}

/** Files are sorted by time within each file; declared so engines may rely on it. */
export function sortOrderJson(): SortOrderJson {
  return { 'order-id': SORT_ORDER_ID, fields: [{ transform: 'identity', 'source-id': TIMESTAMP_FIELD_ID, direction: 'asc', 'null-order': 'nulls-first' }] };
}

export const MS_PER_DAY = 86_400_000;

/** The day() transform: days since 1970-01-01 (UTC) of a time in ms. */
export function dayOf(ms: number): number {
  return Math.floor(ms / MS_PER_DAY);
}

/** "2024-01-15" for a day number: the partition folder's value text. */
export function dayText(day: number): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

// Single-value binary serialization (spec appendix D), used for manifest
// bounds and partition summaries.

export function encodeLong(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(v);
  return b;
}

export function encodeInt(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return b;
}

/** A bound of `type` from its binary form; timestamps come back in microseconds. */
export function decodeBound(type: IcebergType | 'date', bytes: Uint8Array): bigint | number | string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (type === 'string') return b.toString('utf8');
  if (type === 'date') return b.readInt32LE(0);
  return b.readBigInt64LE(0);
}

/**
 * Refuses a table whose current schema or partition spec is not this
 * writer's: files written with our field ids into someone else's layout
 * would be misread by every engine.
 */
export function checkTableLayout(md: { schemas: IcebergSchemaJson[]; 'current-schema-id': number; 'partition-specs': PartitionSpecJson[]; 'default-spec-id': number }, where: string): void {
  const schema = md.schemas.find((x) => x['schema-id'] === md['current-schema-id']);
  const spec = md['partition-specs'].find((x) => x['spec-id'] === md['default-spec-id']);
  const want = schemaJson().fields.map((f) => `${f.id}:${f.name}:${f.type}`).join(',');
  const have = (schema?.fields ?? []).map((f) => `${f.id}:${f.name}:${f.type}`).join(',');
  if (have !== want) throw new Error(`${where}: the table's schema (${have}) is not the netflow schema (${want})`);
  const specText = (x?: PartitionSpecJson) => (x?.fields ?? []).map((f) => `${f['field-id']}:${f['source-id']}:${f.transform}`).join(',');
  if (specText(spec) !== specText(partitionSpecJson())) throw new Error(`${where}: the table is partitioned as ${specText(spec) || 'nothing'}, not day(timestamp)`);
}
