// Turns a template (a list of field types and lengths) into one straight-line
// function that reads a data record into a FlowRecord: every offset, length
// and fallback is decided once, when the template arrives, so the per-record
// work is a handful of byte reads and one object literal. The generated source
// contains only numbers taken from the template and fixed identifiers.
import { RECORD_FIELDS, type FlowRecord } from '../../common/flow.js';
import { F, VARIABLE_LENGTH, type TemplateField } from './fields.js';
import { ip4, ip6, nonZero16 } from './ip.js';

/** What the header of the datagram being decoded says; one mutable object per decoder. */
export interface DecodeContext {
  exporter: string;
  sourceId: number;
  /** NetFlow version of the datagram: 5 or 9. */
  version: number;
  /** Export time from the header clock, ms since the epoch. */
  headerMs: number;
  /** sysUptime of the header, ms. */
  uptime: number;
  receivedMs: number;
  /** Sampling rate for records that carry neither their own interval nor a known sampler id. */
  rate: number;
  /** Rate by sampler id for this (exporter, source id); null when none is known. */
  samplers: Map<number, number> | null;
  /** Variable-length templates only: the end of the set (in) and of the record just read (out). */
  end: number;
  next: number;
}

export function newContext(): DecodeContext {
  return { exporter: '', sourceId: 0, version: 0, headerMs: 0, uptime: 0, receivedMs: 0, rate: 1, samplers: null, end: 0, next: 0 };
}

export interface RecordReader {
  /** Bytes per record; 0 when the template has variable-length fields. */
  readonly fixedLength: number;
  /** The shortest a record can be. */
  readonly minLength: number;
  /** Reads the record at b[o]. Variable-length templates set x.next and return null when the record passes x.end. */
  read(b: Uint8Array, o: number, x: DecodeContext): FlowRecord | null;
}

// Which lengths each known field may have; any other length makes it an unknown field, skipped by length.
const COUNTER = [1, 8] as const;
const UINT32 = [1, 4] as const;
const ACCEPTED = new Map<number, readonly [number, number]>([
  [F.IN_BYTES, COUNTER], [F.IN_PKTS, COUNTER], [F.OUT_BYTES, COUNTER], [F.OUT_PKTS, COUNTER],
  [F.IN_PERMANENT_BYTES, COUNTER], [F.IN_PERMANENT_PKTS, COUNTER],
  [F.PROTOCOL, UINT32], [F.SRC_TOS, UINT32], [F.TCP_FLAGS, UINT32], [F.L4_SRC_PORT, UINT32], [F.L4_DST_PORT, UINT32],
  [F.SRC_MASK, UINT32], [F.DST_MASK, UINT32], [F.IPV6_SRC_MASK, UINT32], [F.IPV6_DST_MASK, UINT32],
  [F.INPUT_SNMP, UINT32], [F.OUTPUT_SNMP, UINT32], [F.SRC_AS, UINT32], [F.DST_AS, UINT32],
  [F.ICMP_TYPE, UINT32], [F.ICMP_TYPE_CODE_IPV6, UINT32], [F.IP_PROTOCOL_VERSION, UINT32],
  [F.SAMPLING_INTERVAL, UINT32], [F.FLOW_SAMPLER_RANDOM_INTERVAL, UINT32], [F.FLOW_SAMPLER_ID, COUNTER], [F.SELECTOR_ID, COUNTER],
  [F.IPV4_SRC_ADDR, [4, 4]], [F.IPV4_DST_ADDR, [4, 4]], [F.IPV4_NEXT_HOP, [4, 4]], [F.BGP_IPV4_NEXT_HOP, [4, 4]],
  [F.IPV6_SRC_ADDR, [16, 16]], [F.IPV6_DST_ADDR, [16, 16]], [F.IPV6_NEXT_HOP, [16, 16]], [F.BGP_IPV6_NEXT_HOP, [16, 16]],
  [F.LAST_SWITCHED, [4, 4]], [F.FIRST_SWITCHED, [4, 4]],
  [F.FLOW_START_SECONDS, [4, 4]], [F.FLOW_END_SECONDS, [4, 4]], [F.FLOW_START_MILLISECONDS, COUNTER], [F.FLOW_END_MILLISECONDS, COUNTER],
]);
const ADDRESSES = new Set<number>([F.IPV4_SRC_ADDR, F.IPV4_DST_ADDR, F.IPV4_NEXT_HOP, F.BGP_IPV4_NEXT_HOP,
  F.IPV6_SRC_ADDR, F.IPV6_DST_ADDR, F.IPV6_NEXT_HOP, F.BGP_IPV6_NEXT_HOP]);

/** Big-endian unsigned integer of `len` bytes (1-8) at position expression `p`. */
function readUint(p: string, len: number): string {
  const byte = (i: number) => `b[${p} + ${i}]`;
  const be = (from: number, n: number) => {
    const parts: string[] = [];
    for (let i = 0; i < n; i++) parts.push(`${byte(from + i)}${n - 1 - i ? ` << ${8 * (n - 1 - i)}` : ''}`);
    const e = `(${parts.join(' | ')})`;
    return n === 4 ? `(${e} >>> 0)` : e;
  };
  if (len <= 4) return be(0, len);
  return `(${be(0, len - 4)} * 4294967296 + ${be(len - 4, 4)})`;
}

/** The source of the record reader for a template, with its record lengths. */
export function templateSource(fields: readonly TemplateField[]): { body: string; fixedLength: number; minLength: number } {
  const lines: string[] = [];
  const have = new Set<number>();
  let base = 'o';
  let offset = 0;
  let minLength = 0;
  let variable = false;
  for (const f of fields) {
    if (f.length === VARIABLE_LENGTH) {
      // 1-byte length, or 255 then a 2-byte length (RFC 7011 section 7).
      lines.push(`q = ${base} + ${offset}; n = b[q++]; if (n === 255) { n = (b[q] << 8) | b[q + 1]; q += 2; } q += n;`);
      base = 'q';
      offset = 0;
      minLength += 1;
      variable = true;
      continue;
    }
    const range = ACCEPTED.get(f.type);
    if (range && f.length >= range[0] && f.length <= range[1] && !have.has(f.type)) {
      have.add(f.type);
      const p = `${base} + ${offset}`;
      lines.push(ADDRESSES.has(f.type) ? `var p${f.type} = ${p};` : `var f${f.type} = ${readUint(p, f.length)};`);
    }
    offset += f.length;
    minLength += f.length;
  }
  const has = (t: number) => have.has(t);
  const first = (...ts: number[]) => ts.find(has);
  const num = (t: number) => (has(t) ? `f${t}` : '0');

  const v4 = has(F.IPV4_SRC_ADDR) || has(F.IPV4_DST_ADDR);
  const v6 = has(F.IPV6_SRC_ADDR) || has(F.IPV6_DST_ADDR);
  if (v4 && v6) {
    // One template for both families (Cisco does this): the unused family is all zeros.
    if (has(F.IP_PROTOCOL_VERSION)) lines.push(`var s6 = f${F.IP_PROTOCOL_VERSION} === 6;`);
    else {
      const v4bytes = [F.IPV4_SRC_ADDR, F.IPV4_DST_ADDR].filter(has).flatMap((t) => [0, 1, 2, 3].map((i) => `b[p${t} + ${i}]`));
      const v6nz = [F.IPV6_SRC_ADDR, F.IPV6_DST_ADDR].filter(has).map((t) => `nonZero16(b, p${t})`);
      lines.push(`var s6 = (${v4bytes.join(' | ')}) === 0 && (${v6nz.join(' || ')});`);
    }
  }
  const family = (e4: string, e6: string) => (v4 && v6 ? `(s6 ? ${e6} : ${e4})` : v6 ? e6 : e4);
  const addr = (t4: number, t6: number) => family(has(t4) ? `ip4(b, p${t4})` : `''`, has(t6) ? `ip6(b, p${t6})` : `''`);
  const hop4 = first(F.IPV4_NEXT_HOP, F.BGP_IPV4_NEXT_HOP);
  const hop6 = first(F.IPV6_NEXT_HOP, F.BGP_IPV6_NEXT_HOP);
  // 0.0.0.0 and :: mean "no next hop" (delivered locally, or unknown): the record says so with "".
  const hop = (t: number | undefined, fmt: string) => (t === undefined ? `''`
    : fmt === 'ip4' ? `((b[p${t}] | b[p${t} + 1] | b[p${t} + 2] | b[p${t} + 3]) === 0 ? '' : ip4(b, p${t}))`
    : `(nonZero16(b, p${t}) ? ip6(b, p${t}) : '')`);
  const nextHop = !v4 && !v6 ? (hop4 !== undefined ? hop(hop4, 'ip4') : hop(hop6, 'ip6')) : family(hop(hop4, 'ip4'), hop(hop6, 'ip6'));
  const mask = (t4: number, t6: number) => family(num(t4), has(t6) ? `f${t6}` : num(t4));
  const ipVersion = v4 || v6 ? family('4', '6') : num(F.IP_PROTOCOL_VERSION);

  // Times: absolute fields when sent, else sysUptime offsets (a signed 32-bit difference survives the uptime wrap).
  const uptimeMs = (t: number) => `x.headerMs - ((x.uptime - f${t}) | 0)`;
  const endAbs = has(F.FLOW_END_MILLISECONDS) ? `f${F.FLOW_END_MILLISECONDS}` : has(F.FLOW_END_SECONDS) ? `f${F.FLOW_END_SECONDS} * 1000` : undefined;
  const startAbs = has(F.FLOW_START_MILLISECONDS) ? `f${F.FLOW_START_MILLISECONDS}` : has(F.FLOW_START_SECONDS) ? `f${F.FLOW_START_SECONDS} * 1000` : undefined;
  const endUp = has(F.LAST_SWITCHED) ? uptimeMs(F.LAST_SWITCHED) : undefined;
  const startUp = has(F.FIRST_SWITCHED) ? uptimeMs(F.FIRST_SWITCHED) : undefined;
  const end = endAbs ?? endUp ?? startAbs ?? startUp ?? 'x.headerMs';
  const start = startAbs ?? startUp ?? end;

  // Egress-only templates carry OUT_*; permanent-flow templates may carry only the totals.
  const bytes = first(F.IN_BYTES, F.OUT_BYTES, F.IN_PERMANENT_BYTES);
  const packets = first(F.IN_PKTS, F.OUT_PKTS, F.IN_PERMANENT_PKTS);

  // ICMP type/code goes in dst_port when the exporter sends it apart (nfdump does the same).
  const icmp = first(F.ICMP_TYPE, F.ICMP_TYPE_CODE_IPV6);
  let dstPort = num(F.L4_DST_PORT);
  if (icmp !== undefined && has(F.PROTOCOL)) dstPort = `((f${F.PROTOCOL} === 1 || f${F.PROTOCOL} === 58) && ${dstPort} === 0 ? f${icmp} : ${dstPort})`;

  const samplerId = first(F.FLOW_SAMPLER_ID, F.SELECTOR_ID);
  const byId = samplerId === undefined ? 'x.rate' : `(x.samplers === null ? x.rate : (x.samplers.get(f${samplerId}) ?? x.rate))`;
  const own = first(F.SAMPLING_INTERVAL, F.FLOW_SAMPLER_RANDOM_INTERVAL);
  const rate = own === undefined ? byId : `(f${own} > 0 ? f${own} : ${byId})`;

  const values: Record<string, string> = {
    timestamp: end, flow_start: start,
    src_ip: addr(F.IPV4_SRC_ADDR, F.IPV6_SRC_ADDR), dst_ip: addr(F.IPV4_DST_ADDR, F.IPV6_DST_ADDR),
    src_port: num(F.L4_SRC_PORT), dst_port: dstPort, protocol: num(F.PROTOCOL),
    bytes: bytes === undefined ? '0' : `f${bytes}`, packets: packets === undefined ? '0' : `f${packets}`,
    exporter: 'x.exporter', source_id: 'x.sourceId',
    input_if: num(F.INPUT_SNMP), output_if: num(F.OUTPUT_SNMP), tcp_flags: num(F.TCP_FLAGS), tos: num(F.SRC_TOS),
    src_as: num(F.SRC_AS), dst_as: num(F.DST_AS),
    src_mask: mask(F.SRC_MASK, F.IPV6_SRC_MASK), dst_mask: mask(F.DST_MASK, F.IPV6_DST_MASK),
    next_hop: nextHop, sampling_rate: rate, ip_version: ipVersion,
    flow_version: 'x.version', time_received: 'x.receivedMs',
  };
  // Every record has the same shape, in proto field order, whatever template made it.
  const literal = RECORD_FIELDS.map((f) => `${f.name}: ${values[f.name] ?? (f.type === 'string' ? `''` : '0')}`).join(',\n    ');
  // Reads past the datagram give undefined, so a lying length makes NaN: the test is written to catch it too.
  const endCheck = variable ? `x.next = ${base} + ${offset};\n  if (!(x.next <= x.end)) return null;\n  ` : '';
  const body = `return function read(b, o, x) {\n  var q = 0, n = 0;\n  ${lines.join('\n  ')}\n  ${endCheck}return {\n    ${literal}\n  };\n};`;
  return { body, fixedLength: variable ? 0 : offset, minLength };
}

/** Compiles a data template; null when its records would be empty. */
export function compileTemplate(fields: readonly TemplateField[]): RecordReader | null {
  const { body, fixedLength, minLength } = templateSource(fields);
  if (minLength === 0) return null;
  const read = new Function('ip4', 'ip6', 'nonZero16', body)(ip4, ip6, nonZero16) as RecordReader['read'];
  return { fixedLength, minLength, read };
}

/** The v5 record (48 bytes) as a template, so both versions share one record reader. */
export const V5_LAYOUT: readonly TemplateField[] = [
  { type: F.IPV4_SRC_ADDR, length: 4 }, { type: F.IPV4_DST_ADDR, length: 4 }, { type: F.IPV4_NEXT_HOP, length: 4 },
  { type: F.INPUT_SNMP, length: 2 }, { type: F.OUTPUT_SNMP, length: 2 },
  { type: F.IN_PKTS, length: 4 }, { type: F.IN_BYTES, length: 4 },
  { type: F.FIRST_SWITCHED, length: 4 }, { type: F.LAST_SWITCHED, length: 4 },
  { type: F.L4_SRC_PORT, length: 2 }, { type: F.L4_DST_PORT, length: 2 },
  { type: F.PADDING_OCTETS, length: 1 }, { type: F.TCP_FLAGS, length: 1 }, { type: F.PROTOCOL, length: 1 }, { type: F.SRC_TOS, length: 1 },
  { type: F.SRC_AS, length: 2 }, { type: F.DST_AS, length: 2 }, { type: F.SRC_MASK, length: 1 }, { type: F.DST_MASK, length: 1 },
  { type: F.PADDING_OCTETS, length: 2 },
];
