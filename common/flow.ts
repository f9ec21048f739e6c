// The flow record as the code base sees it, derived from proto/flow.proto:
// the TypeScript type, the batch codec, and the field table.
import protobuf from 'protobufjs/minimal.js';
import { serviceradar } from '../proto/gen/flow.js';
import { RECORD_FIELDS } from '../proto/gen/flow-fields.js';
import { encodeFlowBatch } from '../proto/gen/flow-encode.js';

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
  // Decoded messages carry proto3 defaults on their prototype; copy them out so
  // records are plain objects with every field an own property.
  const records = msg.records.map((r) => {
    const out = {} as Record<string, unknown>;
    for (const f of RECORD_FIELDS) out[f.name] = plainNumber((r as unknown as Record<string, unknown>)[f.name]);
    return out as FlowRecord;
  });
  return { records, collector_id: msg.collector_id };
}

// The generated module sets the prototype defaults of 64-bit fields when it
// loads, before Long is switched off above, so an absent int64 reads as a Long.
function plainNumber(v: unknown): unknown {
  return typeof v === 'object' && v !== null && typeof (v as { toNumber?: unknown }).toNumber === 'function' ? (v as { toNumber(): number }).toNumber() : v;
}

const DEFAULTS = Object.fromEntries(RECORD_FIELDS.map((f) => [f.name, f.type === 'string' ? '' : 0])) as FlowRecord;
// 1 in 1: a record says it is sampled only when the exporter says so.
DEFAULTS.sampling_rate = 1;

/** A record with every field at its default; decoders fill in what they know. */
export function emptyRecord(): FlowRecord {
  return { ...DEFAULTS };
}

export { NetFlowRecord };
