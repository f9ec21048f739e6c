// Hostile input: well over 100,000 datagrams derived from the real captures and
// from built ones (bit flips, truncation, length fields that lie, splices,
// random garbage), from many spoofed exporters. Nothing may throw, every datagram
// is counted, the caps on exporters, templates and waiting data hold, and every
// record that comes out is well-formed enough to encode and decode again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeBatch, encodeBatch, RECORD_FIELDS, type FlowRecord } from '../../common/flow.js';
import { NetFlowDecoder } from '../../checker/decoder/index.js';
import { PcapReader } from '../../checker/pcap.js';
import { rng } from '../../demo/traffic.js';
import { V5Exporter, V9Exporter, type ExportFlow } from '../../demo/exporter/packets.js';
import { CAPTURES } from './reference.js';

const T = 1_700_000_000_000;
const LIMITS = { maxExporters: 64, maxTemplatesPerExporter: 16, pendingPerExporter: 8, maxPendingBytes: 64 * 1024, pendingTtlMs: 5_000 };

function seeds(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const c of CAPTURES) for (const d of new PcapReader(readFileSync(c.pcap)).udp()) out.push(d.payload);
  const flows: ExportFlow[] = Array.from({ length: 90 }, (_, i) => ({
    src_ip: i % 3 ? `10.0.${i}.1` : `2001:db8::${i}`, dst_ip: i % 3 ? '192.0.2.1' : '2001:db8::1', src_port: 1000 + i, dst_port: 443, protocol: 6,
    bytes: 1000 * i, packets: i + 1, timestamp: T - 1000, flow_start: T - 9000, input_if: 1, output_if: 2, tcp_flags: 0x12, tos: 0,
    src_as: 65000, dst_as: 15169, src_mask: 24, dst_mask: 16, next_hop: '',
  }));
  out.push(...new V9Exporter({ bootMs: T - 86_400_000, samplingRate: 100, templateEvery: 2 }).packets(flows, T));
  out.push(...new V5Exporter({ bootMs: T - 86_400_000, samplingRate: 10 }).packets(flows, T));
  return out;
}

/** Offsets of the 16-bit length-like fields of a v9 datagram: set lengths, template field counts and lengths. */
function lengthFields(b: Uint8Array): number[] {
  const at: number[] = [2];
  if (b.length < 20 || b[1] !== 9) return b[1] === 5 ? [2] : at;
  for (let p = 20; p + 4 <= b.length;) {
    const id = (b[p]! << 8) | b[p + 1]!;
    const len = (b[p + 2]! << 8) | b[p + 3]!;
    at.push(p + 2);
    if (id <= 1) for (let q = p + 4; q + 4 <= Math.min(p + len, b.length); q += 4) at.push(q + 2);
    if (len < 4) break;
    p += len;
  }
  return at;
}

test('125,000 mutated, truncated, garbage and template-flooding datagrams: no throw, all counted, caps held, records well-formed', () => {
  const rand = rng(20240601);
  const int = (n: number) => Math.floor(rand() * n);
  const base = seeds();
  const decoder = new NetFlowDecoder(LIMITS);
  const N = 120_000;
  const out: FlowRecord[] = [];
  let garbage = 0;
  const started = Date.now();
  for (let i = 0; i < N; i++) {
    const src = base[int(base.length)]!;
    let d = new Uint8Array(src);
    switch (i % 6) {
      case 0: for (let k = 1 + int(8); k > 0; k--) d[int(d.length)]! ^= 1 << int(8); break; // bit flips
      case 1: d = d.subarray(0, int(d.length + 1)); break; // truncation
      case 2: { // a length that lies
        const at = lengthFields(d);
        const p = at[int(at.length)]!;
        const v = [0, 1, 3, 4, 0xffff, int(0x10000), ((d[p]! << 8) | d[p + 1]!) + 1 - int(3)][int(7)]!;
        d[p] = (v >> 8) & 0xff; d[p + 1] = v & 0xff;
        break;
      }
      case 3: { // garbage, sometimes behind a plausible version
        d = Uint8Array.from({ length: int(1600) }, () => int(256));
        if (rand() < 0.5 && d.length >= 2) { d[0] = 0; d[1] = rand() < 0.5 ? 5 : 9; } else if (!(d.length >= 2 && d[0] === 0 && (d[1] === 5 || d[1] === 9))) garbage++;
        break;
      }
      case 4: { // two datagrams spliced
        const other = base[int(base.length)]!;
        const cut = int(d.length);
        const tail = other.subarray(int(other.length));
        const s = new Uint8Array(cut + tail.length); s.set(d.subarray(0, cut)); s.set(tail, cut);
        d = s;
        break;
      }
      default: break; // unchanged: the decoder still has to work between all the rest
    }
    // More exporters than the decoder keeps (spoofed sources).
    const exporter = `198.18.0.${int(70)}`;
    let records: FlowRecord[];
    try {
      records = decoder.decode(d, exporter, T + i * 10);
    } catch (e) {
      assert.fail(`decode threw on datagram ${i}: ${(e as Error).message}`);
    }
    for (const r of records) if (out.length < 50_000) out.push(r);
  }
  // A template flood: one exporter defining a new template id in every datagram (the capture's template datagram, renumbered).
  const template = base[0]!;
  for (let i = 0; i < 5000; i++) {
    const d = new Uint8Array(template);
    d[24] = ((256 + i) >> 8) & 0xff; d[25] = (256 + i) & 0xff;
    decoder.decode(d, '198.18.1.1', T + N * 10);
  }
  const elapsed = Date.now() - started;
  const s = decoder.stats();
  assert.equal(s.packets, N + 5000);
  assert.equal(s.errors.internal, 0, 'no datagram hit a decoder bug');
  assert.ok(s.packets_malformed > N / 4 && s.packets_malformed <= N + 5000, `${s.packets_malformed} malformed`);
  const errorEvents = Object.values(s.errors).reduce((a, b) => a + b, 0);
  assert.ok(errorEvents >= s.packets_malformed, 'every malformed datagram has at least one error counted');
  assert.ok(s.errors.unsupported_version + s.errors.short_datagram >= garbage, 'garbage without a NetFlow version is counted as such');
  assert.ok(s.flows > 50_000, `${s.flows} records still came through`);
  // The caps.
  assert.ok(Object.keys(s.templates).length <= LIMITS.maxExporters);
  assert.ok(s.exporters_evicted > 0, 'the exporter cap was reached and held');
  for (const n of Object.values(s.templates)) assert.ok(n <= LIMITS.maxTemplatesPerExporter);
  assert.ok(s.templates_evicted > 0, 'the template cap was reached and held');
  assert.ok(s.pending <= LIMITS.maxExporters * LIMITS.pendingPerExporter);
  assert.ok(s.pending_bytes <= LIMITS.maxPendingBytes);
  assert.ok(s.pending_dropped + s.pending_expired > 0, 'waiting data was bounded');
  // Records: every field of its proto type, and through the encoder and back unchanged.
  for (const r of out) {
    for (const f of RECORD_FIELDS) {
      const v = r[f.name];
      if (f.type === 'string') assert.equal(typeof v, 'string', f.name);
      else assert.ok(typeof v === 'number' && Number.isFinite(v) && Number.isInteger(v), `${f.name} = ${String(v)}`);
      if (f.type === 'uint32') assert.ok((v as number) >= 0 && (v as number) <= 0xffffffff, `${f.name} = ${String(v)}`);
      if (f.type === 'uint64') assert.ok((v as number) >= 0, `${f.name} = ${String(v)}`);
    }
  }
  for (let i = 0; i < out.length; i += 5000) {
    const batch = out.slice(i, i + 5000).filter((r) => Math.abs(r.timestamp) < 2 ** 53 && r.bytes < 2 ** 53 && r.packets < 2 ** 53);
    assert.deepEqual(decodeBatch(encodeBatch({ records: batch, collector_id: 'hostile' })).records, batch);
  }
  assert.ok(elapsed < 60_000, `took ${elapsed} ms`);
});
