// Builds NetFlow v5 and v9 export datagrams byte by byte: headers, template
// and options template sets, data sets (with padding, variable-length fields,
// any field length), and stateful exporters that turn flow records into the
// datagrams a router would send. Used by the decoder tests to reproduce what
// real exporters get wrong, by the demo's synthetic exporter and by the load
// generator.
import type { FlowRecord } from '../../common/flow.js';
import { F, VARIABLE_LENGTH, type TemplateField } from '../../checker/decoder/fields.js';
import { parseIp } from '../../checker/decoder/ip.js';

export { F, VARIABLE_LENGTH, type TemplateField };

/**
 * A field value: a number or bigint (big-endian in the field's length), an IP address
 * in text, or raw bytes (for a variable-length field, the value without its length prefix).
 */
export type FieldValue = number | bigint | string | Uint8Array;
/** Values by field type; a field without one is zeros. */
export type RecordValues = Readonly<Partial<Record<number, FieldValue>>>;

export interface DataTemplate { id: number; fields: readonly TemplateField[] }
export interface OptionsTemplate { id: number; scope: readonly TemplateField[]; options: readonly TemplateField[] }

/** One set of a v9 datagram. `padding` is the number of zero bytes after its content (default: to a 4-byte boundary). */
export type V9Set =
  | { kind: 'templates'; templates: readonly DataTemplate[]; padding?: number }
  | { kind: 'options-templates'; templates: readonly OptionsTemplate[]; padding?: number }
  | { kind: 'data'; templateId: number; records: readonly Uint8Array[]; padding?: number }
  /** Bytes placed as they are (set header included), for malformed sets. */
  | { kind: 'raw'; bytes: Uint8Array; count?: number };

export interface V9Header {
  sysUptime: number;
  unixSecs: number;
  sequence: number;
  sourceId: number;
  /** Records in the datagram (templates + data records); computed from the sets when absent. */
  count?: number;
}

class Bytes {
  private buf = new Uint8Array(256);
  length = 0;
  private room(n: number) {
    if (this.length + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    bigger.set(this.buf.subarray(0, this.length));
    this.buf = bigger;
  }
  u8(v: number): this { this.room(1); this.buf[this.length++] = v & 0xff; return this; }
  u16(v: number): this { return this.u8(v >>> 8).u8(v); }
  u32(v: number): this { return this.u16(Math.floor(v / 65536) & 0xffff).u16(v & 0xffff); }
  bytes(b: Uint8Array): this { this.room(b.length); this.buf.set(b, this.length); this.length += b.length; return this; }
  zeros(n: number): this { this.room(n); this.buf.fill(0, this.length, this.length + n); this.length += n; return this; }
  setU16(at: number, v: number): void { this.buf[at] = (v >>> 8) & 0xff; this.buf[at + 1] = v & 0xff; }
  done(): Uint8Array { return this.buf.slice(0, this.length); }
}

/** Big-endian bytes of an unsigned value in `length` bytes (the low bytes when it does not fit). */
export function uintBytes(value: number | bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let v = BigInt.asUintN(64, BigInt(value));
  for (let i = length - 1; i >= 0; i--) { out[i] = Number(v & 0xffn); v >>= 8n; }
  return out;
}

/** The bytes of one data record laid out by `fields`. */
export function encodeRecord(fields: readonly TemplateField[], values: RecordValues): Uint8Array {
  const out = new Bytes();
  for (const f of fields) {
    const v = values[f.type];
    if (f.length === VARIABLE_LENGTH) {
      const raw = v === undefined ? new Uint8Array(0) : typeof v === 'string' ? new TextEncoder().encode(v) : v instanceof Uint8Array ? v : uintBytes(v, 8);
      // 1-byte length below 255, else 255 and a 2-byte length (RFC 7011 section 7).
      if (raw.length < 255) out.u8(raw.length); else out.u8(255).u16(raw.length);
      out.bytes(raw);
    } else if (v === undefined) out.zeros(f.length);
    else if (typeof v === 'string') {
      const ip = parseIp(v);
      if (ip.length !== f.length) throw new Error(`field ${f.type}: address ${v} does not fit ${f.length} bytes`);
      out.bytes(ip);
    } else if (v instanceof Uint8Array) {
      if (v.length !== f.length) throw new Error(`field ${f.type}: ${v.length} bytes given for a ${f.length}-byte field`);
      out.bytes(v);
    } else out.bytes(uintBytes(v, f.length));
  }
  return out.done();
}

const align4 = (n: number) => (4 - (n % 4)) % 4;

/** Bytes of one set (header included) and the records it counts for the datagram header. */
export function encodeSet(set: V9Set): { bytes: Uint8Array; count: number } {
  if (set.kind === 'raw') return { bytes: set.bytes, count: set.count ?? 0 };
  const b = new Bytes();
  b.u16(set.kind === 'templates' ? 0 : set.kind === 'options-templates' ? 1 : set.templateId).u16(0);
  let count: number;
  if (set.kind === 'templates') {
    for (const t of set.templates) {
      b.u16(t.id).u16(t.fields.length);
      for (const f of t.fields) b.u16(f.type).u16(f.length);
    }
    count = set.templates.length;
  } else if (set.kind === 'options-templates') {
    for (const t of set.templates) {
      b.u16(t.id).u16(4 * t.scope.length).u16(4 * t.options.length);
      for (const f of [...t.scope, ...t.options]) b.u16(f.type).u16(f.length);
    }
    count = set.templates.length;
  } else {
    for (const r of set.records) b.bytes(r);
    count = set.records.length;
  }
  b.zeros(set.padding ?? align4(b.length));
  b.setU16(2, b.length);
  return { bytes: b.done(), count };
}

/** A NetFlow v9 export datagram. */
export function v9Packet(header: V9Header, sets: readonly V9Set[]): Uint8Array {
  const encoded = sets.map(encodeSet);
  const b = new Bytes();
  b.u16(9).u16(header.count ?? encoded.reduce((n, s) => n + s.count, 0));
  b.u32(header.sysUptime).u32(header.unixSecs).u32(header.sequence).u32(header.sourceId);
  for (const s of encoded) b.bytes(s.bytes);
  return b.done();
}

export interface V5Header {
  sysUptime: number;
  unixSecs: number;
  unixNsecs?: number;
  /** Flows exported before this datagram. */
  sequence: number;
  engineType?: number;
  engineId?: number;
  /** 1 in N; 0 or absent = not sampled. */
  samplingInterval?: number;
  /** 2 bits; 1 = deterministic, 2 = random. */
  samplingMode?: number;
  /** Overrides the record count in the header. */
  count?: number;
}

/** One v5 record; times are sysUptime ms. */
export interface V5Record {
  src_ip: string; dst_ip: string; next_hop?: string;
  input_if?: number; output_if?: number;
  packets: number; bytes: number; first: number; last: number;
  src_port?: number; dst_port?: number; tcp_flags?: number; protocol: number; tos?: number;
  src_as?: number; dst_as?: number; src_mask?: number; dst_mask?: number;
}

/** A NetFlow v5 export datagram (24-byte header, 48 bytes a record). */
export function v5Packet(header: V5Header, records: readonly V5Record[]): Uint8Array {
  const b = new Bytes();
  b.u16(5).u16(header.count ?? records.length).u32(header.sysUptime).u32(header.unixSecs).u32(header.unixNsecs ?? 0);
  b.u32(header.sequence).u8(header.engineType ?? 0).u8(header.engineId ?? 0);
  b.u16(((header.samplingMode ?? 0) << 14) | ((header.samplingInterval ?? 0) & 0x3fff));
  for (const r of records) {
    b.bytes(parseIp(r.src_ip)).bytes(parseIp(r.dst_ip)).bytes(parseIp(r.next_hop || '0.0.0.0'));
    b.u16(r.input_if ?? 0).u16(r.output_if ?? 0).u32(r.packets).u32(r.bytes).u32(r.first).u32(r.last);
    b.u16(r.src_port ?? 0).u16(r.dst_port ?? 0).u8(0).u8(r.tcp_flags ?? 0).u8(r.protocol).u8(r.tos ?? 0);
    b.u16(r.src_as ?? 0).u16(r.dst_as ?? 0).u8(r.src_mask ?? 0).u8(r.dst_mask ?? 0).u16(0);
  }
  return b.done();
}

// ---- exporters: flow records in, the datagrams a router would send out ----

/** What an exporter needs of a flow; the rest of FlowRecord is the collector's to fill in. */
export type ExportFlow = Pick<FlowRecord, 'src_ip' | 'dst_ip' | 'src_port' | 'dst_port' | 'protocol' | 'bytes' | 'packets'
  | 'timestamp' | 'flow_start' | 'input_if' | 'output_if' | 'tcp_flags' | 'tos' | 'src_as' | 'dst_as' | 'src_mask' | 'dst_mask' | 'next_hop'>;

const field = (type: number, length: number): TemplateField => ({ type, length });
/** The IPv4 layout a Cisco IOS router typically exports. */
export const IPV4_FIELDS: readonly TemplateField[] = [
  field(F.IPV4_SRC_ADDR, 4), field(F.IPV4_DST_ADDR, 4), field(F.IPV4_NEXT_HOP, 4),
  field(F.INPUT_SNMP, 4), field(F.OUTPUT_SNMP, 4), field(F.IN_PKTS, 4), field(F.IN_BYTES, 8),
  field(F.FIRST_SWITCHED, 4), field(F.LAST_SWITCHED, 4), field(F.L4_SRC_PORT, 2), field(F.L4_DST_PORT, 2),
  field(F.SRC_AS, 4), field(F.DST_AS, 4), field(F.SRC_MASK, 1), field(F.DST_MASK, 1),
  field(F.TCP_FLAGS, 1), field(F.PROTOCOL, 1), field(F.SRC_TOS, 1), field(F.FLOW_SAMPLER_ID, 1),
];
/** The same for IPv6. */
export const IPV6_FIELDS: readonly TemplateField[] = [
  field(F.IPV6_SRC_ADDR, 16), field(F.IPV6_DST_ADDR, 16), field(F.IPV6_NEXT_HOP, 16),
  field(F.INPUT_SNMP, 4), field(F.OUTPUT_SNMP, 4), field(F.IN_PKTS, 4), field(F.IN_BYTES, 8),
  field(F.FIRST_SWITCHED, 4), field(F.LAST_SWITCHED, 4), field(F.L4_SRC_PORT, 2), field(F.L4_DST_PORT, 2),
  field(F.SRC_AS, 4), field(F.DST_AS, 4), field(F.IPV6_SRC_MASK, 1), field(F.IPV6_DST_MASK, 1),
  field(F.TCP_FLAGS, 1), field(F.PROTOCOL, 1), field(F.SRC_TOS, 1), field(F.FLOW_SAMPLER_ID, 1),
];
/** Options template announcing a sampler: FLOW_SAMPLER_ID, FLOW_SAMPLER_MODE, FLOW_SAMPLER_RANDOM_INTERVAL, scoped by System. */
export const SAMPLER_OPTIONS: Omit<OptionsTemplate, 'id'> = {
  scope: [field(1, 4)],
  options: [field(F.FLOW_SAMPLER_ID, 1), field(F.FLOW_SAMPLER_MODE, 1), field(F.FLOW_SAMPLER_RANDOM_INTERVAL, 4)],
};

/** Template field values of a flow, times as sysUptime ms of an exporter booted at `bootMs`. */
export function flowValues(f: ExportFlow, bootMs: number, samplerId = 0): RecordValues {
  const v6 = f.src_ip.includes(':');
  const up = (ms: number) => (ms - bootMs) >>> 0;
  return {
    [v6 ? F.IPV6_SRC_ADDR : F.IPV4_SRC_ADDR]: f.src_ip,
    [v6 ? F.IPV6_DST_ADDR : F.IPV4_DST_ADDR]: f.dst_ip,
    [v6 ? F.IPV6_NEXT_HOP : F.IPV4_NEXT_HOP]: f.next_hop || (v6 ? '::' : '0.0.0.0'),
    [F.INPUT_SNMP]: f.input_if, [F.OUTPUT_SNMP]: f.output_if,
    [F.IN_PKTS]: f.packets, [F.IN_BYTES]: f.bytes,
    [F.FIRST_SWITCHED]: up(f.flow_start), [F.LAST_SWITCHED]: up(f.timestamp),
    [F.L4_SRC_PORT]: f.src_port, [F.L4_DST_PORT]: f.dst_port,
    [F.SRC_AS]: f.src_as, [F.DST_AS]: f.dst_as,
    [v6 ? F.IPV6_SRC_MASK : F.SRC_MASK]: f.src_mask, [v6 ? F.IPV6_DST_MASK : F.DST_MASK]: f.dst_mask,
    [F.TCP_FLAGS]: f.tcp_flags, [F.PROTOCOL]: f.protocol, [F.SRC_TOS]: f.tos, [F.FLOW_SAMPLER_ID]: samplerId,
  };
}

export interface V9ExporterOptions {
  /** When the simulated router booted, ms since the epoch (sysUptime counts from here). */
  bootMs: number;
  sourceId?: number;
  /** Template ids for IPv4 and IPv6 flows; 256 and 257 by default. */
  templateIds?: { v4: number; v6: number };
  /** Templates (and sampler options) are sent in the first datagram and then every this many. Default 20. */
  templateEvery?: number;
  /** Largest datagram, bytes. Default 1400 (fits a 1500-byte MTU with IP/UDP headers). */
  maxDatagram?: number;
  /** 1 in N sampling announced through an options template (sampler id 1); absent = unsampled. */
  samplingRate?: number;
}

/** A NetFlow v9 exporter: sequence numbers, periodic templates, datagrams filled up to the size limit. */
export class V9Exporter {
  private sequence = 0;
  private sent = 0;
  private readonly ids: { v4: number; v6: number };
  private readonly optionsId: number;

  constructor(private readonly opts: V9ExporterOptions) {
    this.ids = opts.templateIds ?? { v4: 256, v6: 257 };
    this.optionsId = Math.max(this.ids.v4, this.ids.v6) + 1;
  }

  /** The datagrams exporting `flows` at `nowMs` (the header clock is whole seconds; sysUptime agrees with it). */
  packets(flows: readonly ExportFlow[], nowMs: number): Uint8Array[] {
    if (flows.length === 0) return [];
    const unixSecs = Math.floor(nowMs / 1000);
    const sysUptime = (unixSecs * 1000 - this.opts.bootMs) >>> 0;
    const limit = this.opts.maxDatagram ?? 1400;
    const every = this.opts.templateEvery ?? 20;
    const samplerId = this.opts.samplingRate ? 1 : 0;
    const out: Uint8Array[] = [];
    let i = 0;
    do {
      const sets: V9Set[] = [];
      let size = 20;
      if (this.sent % every === 0) {
        sets.push({ kind: 'templates', templates: [{ id: this.ids.v4, fields: IPV4_FIELDS }, { id: this.ids.v6, fields: IPV6_FIELDS }] });
        size += 4 + 8 + 4 * (IPV4_FIELDS.length + IPV6_FIELDS.length);
        if (this.opts.samplingRate) {
          sets.push({ kind: 'options-templates', templates: [{ id: this.optionsId, ...SAMPLER_OPTIONS }] });
          sets.push({ kind: 'data', templateId: this.optionsId, records: [encodeRecord([...SAMPLER_OPTIONS.scope, ...SAMPLER_OPTIONS.options],
            { 1: 0, [F.FLOW_SAMPLER_ID]: 1, [F.FLOW_SAMPLER_MODE]: 2, [F.FLOW_SAMPLER_RANDOM_INTERVAL]: this.opts.samplingRate })] });
          size += 40;
        }
      }
      // Consecutive flows of one family share a data set.
      while (i < flows.length) {
        const v6 = flows[i]!.src_ip.includes(':');
        const fields = v6 ? IPV6_FIELDS : IPV4_FIELDS;
        const recLen = fields.reduce((n, f) => n + f.length, 0);
        if (size + 4 + recLen + 3 > limit) break;
        const records: Uint8Array[] = [];
        size += 4;
        while (i < flows.length && flows[i]!.src_ip.includes(':') === v6 && size + recLen + 3 <= limit) {
          records.push(encodeRecord(fields, flowValues(flows[i]!, this.opts.bootMs, samplerId)));
          size += recLen;
          i++;
        }
        size += align4(records.length * recLen);
        sets.push({ kind: 'data', templateId: v6 ? this.ids.v6 : this.ids.v4, records });
      }
      out.push(v9Packet({ sysUptime, unixSecs, sequence: this.sequence++, sourceId: this.opts.sourceId ?? 0 }, sets));
      this.sent++;
    } while (i < flows.length);
    return out;
  }
}

export interface V5ExporterOptions {
  bootMs: number;
  engineType?: number;
  engineId?: number;
  /** 1 in N, announced in the header; absent = unsampled. */
  samplingRate?: number;
}

/** A NetFlow v5 exporter: 30 records a datagram, the flow sequence. v5 has no IPv6: such flows are left out. */
export class V5Exporter {
  private sequence = 0;
  constructor(private readonly opts: V5ExporterOptions) {}

  packets(flows: readonly ExportFlow[], nowMs: number): Uint8Array[] {
    const up = (ms: number) => (ms - this.opts.bootMs) >>> 0;
    const unixSecs = Math.floor(nowMs / 1000);
    const unixNsecs = Math.round((nowMs - unixSecs * 1000) * 1e6);
    const v4 = flows.filter((f) => !f.src_ip.includes(':'));
    const out: Uint8Array[] = [];
    for (let i = 0; i < v4.length; i += 30) {
      const chunk = v4.slice(i, i + 30);
      out.push(v5Packet({
        sysUptime: up(nowMs), unixSecs, unixNsecs, sequence: this.sequence,
        engineType: this.opts.engineType, engineId: this.opts.engineId,
        samplingInterval: this.opts.samplingRate, samplingMode: this.opts.samplingRate ? 1 : 0,
      }, chunk.map((f) => ({ ...f, first: up(f.flow_start), last: up(f.timestamp) }))));
      this.sequence = (this.sequence + chunk.length) >>> 0;
    }
    return out;
  }
}
