// Decoder throughput on one core: flows per CPU second for NetFlow v9 (the Cisco
// ASR9k layout of the real capture) and v5, decode alone and decode + FlowBatch encode.
//
//   npm run build && node dist/bench/decoder.js [--seconds N]
//
// CPU time of this process is the denominator, so other work on the machine inflates
// the figures less than wall time would; they are still indicative, not exact.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeBatch, type FlowRecord } from '../common/flow.js';
import { serviceradar } from '../proto/gen/flow.js';
import { NetFlowDecoder } from '../checker/decoder/index.js';
import { parseTemplateSet } from '../checker/decoder/templates.js';
import { PcapReader } from '../checker/pcap.js';
import { encodeRecord, F, flowValues, V5Exporter, v9Packet, type DataTemplate, type ExportFlow } from '../demo/exporter/packets.js';
import { trafficModel } from '../demo/traffic.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const CAPTURE = join(root, '..', 'shared', 'testdata', 'netflow', 'nfv9-cisco-asr9k-one-source', 'traffic.pcap');
const secondsArg = process.argv.indexOf('--seconds');
const SECONDS = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 2;
const BATCH = 1000;
const DATAGRAMS = 2000;
const NOW = 1_677_577_634_000;

interface Workload { name: string; setup: Uint8Array[]; datagrams: Uint8Array[] }

const captured = () => [...new PcapReader(readFileSync(CAPTURE)).udp()].map((d) => d.payload);

/** Flows of the demo's traffic model (Zipf-distributed hosts, so addresses repeat as in real traffic). */
function modelFlows(n: number): ExportFlow[] {
  const model = trafficModel({ seed: 7 });
  return Array.from({ length: n }, (_, i) => model.flow(NOW - 1000 + (i % 1000)));
}

/** Flows whose addresses never repeat: the worst case for the decoder's address text cache. */
function distinctFlows(n: number): ExportFlow[] {
  const ip = (i: number) => `${1 + ((i >>> 16) % 223)}.${(i >>> 8) & 255}.${i & 255}.${(i * 7) & 255}`;
  return modelFlows(n).map((f, i) => ({ ...f, src_ip: ip(2 * i), dst_ip: ip(2 * i + 1) }));
}

/** Full-size datagrams (as a busy router sends them) in the ASR9k's own template, taken from the capture. */
function asr9k(name: string, flows: ExportFlow[]): Workload {
  const template = captured()[0]!;
  const t: DataTemplate = parseTemplateSet(template, 24, template.length).defs[0]!;
  const recLen = t.fields.reduce((n, f) => n + f.length, 0);
  const perDatagram = Math.floor((1400 - 24) / recLen);
  // The capture's header clock, so the template datagram and these agree on when the router booted.
  const header = (sequence: number) => ({ sysUptime: 328_901_691, unixSecs: NOW / 1000, sequence, sourceId: 0 });
  const bootMs = NOW - 328_901_691;
  const datagrams: Uint8Array[] = [];
  for (let d = 0; d * perDatagram < flows.length; d++) {
    const records = flows.slice(d * perDatagram, (d + 1) * perDatagram).map((f) => encodeRecord(t.fields, { ...flowValues(f, bootMs), [F.FLOW_SAMPLER_ID]: 1 }));
    datagrams.push(v9Packet(header(d + 1), [{ kind: 'data', templateId: t.id, records }]));
  }
  return { name: `${name}, ${perDatagram} records/datagram`, setup: [v9Packet(header(0), [{ kind: 'templates', templates: [t] }])], datagrams };
}

/** The capture's own datagrams, 1-3 records each: mostly per-datagram cost. */
function asr9kReplay(): Workload {
  const c = captured();
  return { name: 'v9 ASR9k capture replayed, 1-3 records/datagram', setup: [c[0]!], datagrams: c.slice(1) };
}

function v5(): Workload {
  const exporter = new V5Exporter({ bootMs: NOW - 9_000_000 });
  return { name: 'v5 model traffic, 30 records/datagram', setup: [], datagrams: exporter.packets(modelFlows(30 * DATAGRAMS), NOW) };
}

type Mode = 'decode' | 'decode+encode' | 'decode+protobufjs';

function run(w: Workload, mode: Mode): number {
  const decoder = new NetFlowDecoder();
  for (const s of w.setup) decoder.decode(s, '192.0.2.1', NOW);
  let batch: FlowRecord[] = [];
  let sink = 0;
  let flows = 0;
  const pass = () => {
    for (const d of w.datagrams) {
      const recs = decoder.decode(d, '192.0.2.1', NOW);
      flows += recs.length;
      if (mode === 'decode') { sink += recs.length; continue; }
      for (const r of recs) batch.push(r);
      if (batch.length >= BATCH) {
        sink += mode === 'decode+encode'
          ? encodeBatch({ records: batch, collector_id: 'bench' }).length
          : serviceradar.netflow.FlowBatch.encode({ records: batch, collector_id: 'bench' }).finish().length;
        batch = [];
      }
    }
  };
  const warmUntil = Date.now() + 500;
  while (Date.now() < warmUntil) pass();
  flows = 0;
  // CPU time of this process (the main thread plus GC helpers).
  const start = process.cpuUsage();
  const until = Date.now() + SECONDS * 1000;
  while (Date.now() < until) pass();
  const used = process.cpuUsage(start);
  if (sink < 0) console.log(sink);
  const s = decoder.stats();
  if (s.packets_malformed !== 0 || s.pending !== 0) throw new Error(`${w.name}: the decoder did not decode everything: ${JSON.stringify(s.errors)}`);
  return flows / ((used.user + used.system) / 1e6);
}

const fmt = (n: number, width: number) => `${(n / 1e6).toFixed(2)} M`.padStart(width);
console.log(`decoder benchmark: flows per CPU second, one thread (${SECONDS} s per figure, batches of ${BATCH} records, node ${process.version})`);
console.log(`${'workload'.padEnd(56)} ${'decode'.padStart(8)} ${'+encode'.padStart(8)} ${'+protobufjs'.padStart(12)}`);
for (const w of [
  asr9k('v9 ASR9k layout, model traffic', modelFlows(10 * DATAGRAMS)),
  asr9k('v9 ASR9k layout, no address repeats', distinctFlows(10 * DATAGRAMS)),
  asr9kReplay(),
  v5(),
]) {
  const d = run(w, 'decode');
  const de = run(w, 'decode+encode');
  const dp = run(w, 'decode+protobufjs');
  console.log(`${w.name.padEnd(56)} ${fmt(d, 8)} ${fmt(de, 8)} ${fmt(dp, 12)}`);
}
console.log('+encode: decode plus the generated FlowBatch encoder (common/flow.ts encodeBatch);');
console.log('+protobufjs: decode plus protobufjs static code, the encoder it replaced, for comparison.');
