// The simulated routers of the load generator and their datagrams.
//
// Exporter i sends from 127.1.(i >> 8).(i & 255 + 1) on loopback. Most speak
// NetFlow v9 with one or two source ids (line cards), each with its own
// template ids (some exporters share ids, as real fleets do: the checker must
// scope them by exporter and source id), templates resent every 20 datagrams,
// and every third one announces 1:100 sampling in an options template. Every
// tenth exporter speaks v5. Flows follow demo/traffic.ts's office-edge model.
//
// Encoding a record costs ~12 µs in demo/exporter/packets.ts (readable, BigInt
// based): 100k flows/s would take more than a core. So each source encodes a
// pool of real datagrams once, with that exporter (templates included in the
// right ones), and sending one is a copy plus a few patched words: the header
// clock and sequence, each record's FIRST/LAST_SWITCHED (moved by the time
// since the pool was built, so flows end now) and its next hop, which carries
// a per-source record counter (10.x.y.z). That counter makes every stored
// flow unique, so a duplicate in a tier is visible as a repeated
// (exporter, source_id, next_hop).
import { F, IPV4_FIELDS, V5Exporter, V9Exporter, type ExportFlow } from '../../demo/exporter/packets.js';
import { trafficModel } from '../../demo/traffic.js';
import { nextHopValue } from './ledger.js';

export interface SourceSpec {
  version: 5 | 9;
  /** v9 source id; v5 engine id (engine type 0). */
  sourceId: number;
  templateIds: { v4: number; v6: number };
  samplingRate?: number;
  seed: number;
}

export interface ExporterSpec { index: number; address: string; sources: SourceSpec[] }

export function exporterAddress(index: number): string {
  if (index < 0 || index >= 250 * 256) throw new Error(`exporter index ${index} out of range`);
  return `127.1.${index >> 8}.${(index & 255) + 1}`;
}

export function exporterSpec(index: number): ExporterSpec {
  const address = exporterAddress(index);
  if (index % 10 === 9) return { index, address, sources: [{ version: 5, sourceId: index % 200, templateIds: { v4: 0, v6: 0 }, seed: 1000 + index }] };
  const cards = index % 4 === 0 ? 2 : 1;
  const sources: SourceSpec[] = [];
  for (let c = 0; c < cards; c++) {
    const base = 256 + 2 * ((index + c) % 8);
    sources.push({ version: 9, sourceId: c === 0 ? 0 : 100 + c, templateIds: { v4: base, v6: base + 1 }, samplingRate: index % 3 === 0 ? 100 : undefined, seed: 1000 + index * 7 + c });
  }
  return { index, address, sources };
}

/** One prepared datagram: where its records are, and what they add up to. */
export interface PooledDatagram {
  bytes: Uint8Array;
  /** Offsets of each flow record in `bytes`. */
  records: number[];
  bytesSum: number;
  packetsSum: number;
}

export interface Pool {
  spec: SourceSpec;
  datagrams: PooledDatagram[];
  /** ms since the epoch the pool's clocks were built at (whole seconds). */
  builtMs: number;
  /** Offsets within a record. */
  at: { first: number; last: number; nextHop: number; recordLength: number };
}

const POOL_DATAGRAMS = 20; // a multiple of TEMPLATE_EVERY, so the template rhythm survives the wrap-around
const TEMPLATE_EVERY = 20;

function fieldOffset(type: number): number {
  let o = 0;
  for (const f of IPV4_FIELDS) { if (f.type === type) return o; o += f.length; }
  throw new Error(`field ${type} not in the IPv4 template`);
}

const V9_AT = { first: fieldOffset(F.FIRST_SWITCHED), last: fieldOffset(F.LAST_SWITCHED), nextHop: fieldOffset(F.IPV4_NEXT_HOP), recordLength: IPV4_FIELDS.reduce((n, f) => n + f.length, 0) };
// v5 record: next hop at 8, first at 24, last at 28, 48 bytes.
const V5_AT = { first: 24, last: 28, nextHop: 8, recordLength: 48 };

const u16 = (b: Uint8Array, p: number) => (b[p]! << 8) | b[p + 1]!;

/** Offsets of the IPv4 data records of a v9 datagram we built. */
function v9RecordOffsets(d: Uint8Array, dataTemplate: number): number[] {
  const out: number[] = [];
  for (let s = 20; s + 4 <= d.length;) {
    const id = u16(d, s), len = u16(d, s + 2);
    if (len < 4) break;
    if (id === dataTemplate) for (let r = s + 4; r + V9_AT.recordLength <= s + len; r += V9_AT.recordLength) out.push(r);
    s += len;
  }
  return out;
}

export function buildPool(spec: SourceSpec, nowMs: number): Pool {
  const builtMs = Math.floor(nowMs / 1000) * 1000;
  const bootMs = builtMs - 3_600_000 - (spec.seed % 1000) * 1000;
  const model = trafficModel({ seed: spec.seed });
  const flowsPerDatagram = spec.version === 5 ? 30 : 0; // v9: as many as fit, set by the exporter
  const datagrams: PooledDatagram[] = [];
  const sums = (flows: ExportFlow[]) => ({ bytesSum: flows.reduce((n, f) => n + f.bytes, 0), packetsSum: flows.reduce((n, f) => n + f.packets, 0) });
  if (spec.version === 9) {
    const ex = new V9Exporter({ bootMs, sourceId: spec.sourceId, templateIds: spec.templateIds, templateEvery: TEMPLATE_EVERY, samplingRate: spec.samplingRate });
    while (datagrams.length < POOL_DATAGRAMS) {
      // More flows than one datagram holds; the exporter says how many it took.
      const flows = Array.from({ length: 40 }, () => model.flow(builtMs - 1000));
      const packets = ex.packets(flows, builtMs);
      let used = 0;
      for (const bytes of packets.slice(0, -1)) {
        const records = v9RecordOffsets(bytes, spec.templateIds.v4);
        datagrams.push({ bytes, records, ...sums(flows.slice(used, used + records.length)) });
        used += records.length;
      }
    }
  } else {
    const ex = new V5Exporter({ bootMs, engineId: spec.sourceId });
    while (datagrams.length < POOL_DATAGRAMS) {
      const flows = Array.from({ length: flowsPerDatagram }, () => model.flow(builtMs - 1000));
      const [bytes] = ex.packets(flows, builtMs);
      datagrams.push({ bytes: bytes!, records: flows.map((_, k) => 24 + 48 * k), ...sums(flows) });
    }
  }
  return { spec, datagrams: datagrams.slice(0, POOL_DATAGRAMS), builtMs, at: spec.version === 9 ? V9_AT : V5_AT };
}

const getU32 = (b: Uint8Array, p: number) => ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
function setU32(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 24; b[p + 1] = (v >>> 16) & 255; b[p + 2] = (v >>> 8) & 255; b[p + 3] = v & 255;
}

/** Per-source sending state: the sequence number and the record counter. */
export interface SourceState { pool: Pool; next: number; sequence: number; records: number }

/**
 * A copy of the next pooled datagram, stamped for `nowMs`: the header clock
 * moved by whole seconds since the pool was built (flow times move with it),
 * the sequence (v9: datagrams, v5: flows), each record's next hop = 10.0.0.0 + counter.
 */
export function nextDatagram(s: SourceState, nowMs: number): { bytes: Buffer; d: PooledDatagram } {
  const d = s.pool.datagrams[s.next]!;
  s.next = (s.next + 1) % s.pool.datagrams.length;
  const out = Buffer.from(d.bytes);
  const shift = Math.max(0, Math.floor((nowMs - s.pool.builtMs) / 1000)) * 1000;
  const v5 = s.pool.spec.version === 5;
  setU32(out, 4, (getU32(out, 4) + shift) >>> 0);
  setU32(out, 8, getU32(out, 8) + shift / 1000);
  setU32(out, v5 ? 16 : 12, s.sequence);
  s.sequence = (s.sequence + (v5 ? d.records.length : 1)) >>> 0;
  const { first, last, nextHop } = s.pool.at;
  for (const r of d.records) {
    setU32(out, r + first, (getU32(out, r + first) + shift) >>> 0);
    setU32(out, r + last, (getU32(out, r + last) + shift) >>> 0);
    setU32(out, r + nextHop, nextHopValue(s.records++));
  }
  return { bytes: out, d };
}
