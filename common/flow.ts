// The flow record as the code base sees it, derived from proto/flow.proto:
// the TypeScript type, the batch codec, and the field table.
import protobuf from 'protobufjs/minimal.js';
import { serviceradar } from '../proto/gen/flow.js';
import { RECORD_FIELDS } from '../proto/gen/flow-fields.js';
import { encodeFlowBatch } from '../proto/gen/flow-encode.js';
import { decodeFlowColumns, type FlowColumns, type StringColumn } from '../proto/gen/flow-decode.js';

// 64-bit fields as plain numbers: timestamps in ms and byte counters stay far below 2^53.
protobuf.util.Long = undefined as never;
protobuf.configure();

const { NetFlowRecord, FlowBatch } = serviceradar.netflow;

/** One flow record with every field present (proto3 defaults are 0 and ""). */
export type FlowRecord = { [K in keyof serviceradar.netflow.INetFlowRecord]-?: NonNullable<serviceradar.netflow.INetFlowRecord[K]> };
export type FieldName = (typeof RECORD_FIELDS)[number]['name'];
export { RECORD_FIELDS };

export interface Batch { records: FlowRecord[]; collector_id: string }

/** Canonical proto3 bytes (default-valued fields left out) from the encoder generated from the proto. */
export function encodeBatch(batch: Batch): Uint8Array {
  return encodeFlowBatch(batch);
}

/** Decodes a netflow.raw payload; throws on bytes that are not a FlowBatch. */
export function decodeBatch(bytes: Uint8Array): Batch {
  const msg = FlowBatch.decode(bytes);
  return { records: msg.records.map(plainRecord), collector_id: msg.collector_id };
}

/** The writers' decoder: a netflow.raw payload as columns, no object per record. Throws on bytes that are not a FlowBatch. */
export { decodeFlowColumns, type FlowColumns, type StringColumn };

const utf8 = new TextDecoder();

/** Row `i` of a string column as text. */
export function stringAt(col: StringColumn, i: number): string {
  const start = col.start[i]!, end = col.end[i]!;
  return start === end ? '' : utf8.decode(col.data.subarray(start, end));
}

/**
 * The times both tiers store, in ms since the epoch: ClickHouse's DateTime
 * spans 1970 to 2106, and a flow ends after the epoch's first second. Both
 * writers refuse a record outside them alike, so the tiers hold the same flows.
 */
export const TIME_LIMITS_MS = {
  timestamp: { min: 1000, max: 4_294_967_295_000 },
  flow_start: { min: 0, max: 4_294_967_295_000 },
  time_received: { min: 0, max: 4_294_967_295_000 },
} as const;

/** Why a time value is refused, or undefined when it is within TIME_LIMITS_MS. */
export function timeProblem(field: keyof typeof TIME_LIMITS_MS, ms: number, record: number): string | undefined {
  const { min, max } = TIME_LIMITS_MS[field];
  if (Number.isInteger(ms) && ms >= min && ms <= max) return undefined;
  return `record ${record}: ${field} ${String(ms)} is not a time in milliseconds from ${min} to ${max}`;
}

/** A batch as the writers see it: encoded as the checker sends it, then decoded to columns. */
export function toColumns(batch: Batch): FlowColumns {
  return decodeFlowColumns(encodeBatch(batch));
}

/** The records of a columns batch (for tools and tests: the writers read the columns). */
export function recordsOf(c: FlowColumns): FlowRecord[] {
  const out: FlowRecord[] = [];
  for (let i = 0; i < c.rows; i++) {
    out.push({
      timestamp: c.timestamp[i]!, src_ip: stringAt(c.src_ip, i), dst_ip: stringAt(c.dst_ip, i), src_port: c.src_port[i]!, dst_port: c.dst_port[i]!, protocol: c.protocol[i]!,
      bytes: c.bytes[i]!, packets: c.packets[i]!, exporter: stringAt(c.exporter, i), source_id: c.source_id[i]!, input_if: c.input_if[i]!, output_if: c.output_if[i]!,
      tcp_flags: c.tcp_flags[i]!, tos: c.tos[i]!, src_as: c.src_as[i]!, dst_as: c.dst_as[i]!, src_mask: c.src_mask[i]!, dst_mask: c.dst_mask[i]!, next_hop: stringAt(c.next_hop, i),
      sampling_rate: c.sampling_rate[i]!, flow_start: c.flow_start[i]!, ip_version: c.ip_version[i]!, flow_version: c.flow_version[i]!, time_received: c.time_received[i]!,
    });
  }
  return out;
}

type Decoded = serviceradar.netflow.INetFlowRecord;

/**
 * Decoded messages carry proto3 defaults on their prototype; copy them out so
 * records are plain objects with every field an own property. Written out
 * field by field: one object shape is three times faster to build than keys
 * set in a loop, and the FlowRecord type makes a field added to the proto a
 * compile error here until it is copied too.
 */
function plainRecord(r: Decoded): FlowRecord {
  return {
    timestamp: int64(r.timestamp), src_ip: r.src_ip!, dst_ip: r.dst_ip!, src_port: r.src_port!, dst_port: r.dst_port!, protocol: r.protocol!,
    bytes: int64(r.bytes), packets: int64(r.packets), exporter: r.exporter!, source_id: r.source_id!, input_if: r.input_if!, output_if: r.output_if!,
    tcp_flags: r.tcp_flags!, tos: r.tos!, src_as: r.src_as!, dst_as: r.dst_as!, src_mask: r.src_mask!, dst_mask: r.dst_mask!, next_hop: r.next_hop!,
    sampling_rate: r.sampling_rate!, flow_start: int64(r.flow_start), ip_version: r.ip_version!, flow_version: r.flow_version!, time_received: int64(r.time_received),
  };
}

// The generated module sets the prototype defaults of 64-bit fields when it
// loads, before Long is switched off above, so an absent int64 reads as a Long.
function int64(v: unknown): number {
  return typeof v === 'number' ? v : (v as { toNumber(): number }).toNumber();
}

const DEFAULTS = Object.fromEntries(RECORD_FIELDS.map((f) => [f.name, f.type === 'string' ? '' : 0])) as FlowRecord;
// 1 in 1: a record says it is sampled only when the exporter says so.
DEFAULTS.sampling_rate = 1;

/** A record with every field at its default; decoders fill in what they know. */
export function emptyRecord(): FlowRecord {
  return { ...DEFAULTS };
}

export { NetFlowRecord };
