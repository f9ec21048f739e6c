// The real ASR9k captures decoded by our decoder, checked against two independent
// decoders: Wireshark's (tshark, field by field for every record, and in totals)
// and pmacct's nfacctd output that ships with the captures (summed per its
// aggregation key). Also the `decode` CLI on the same files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { FlowRecord } from '../../common/flow.js';
import { NetFlowDecoder } from '../../checker/decoder/index.js';
import { PcapReader } from '../../checker/pcap.js';
import { tempDir } from '../helpers/process.js';
import { CAPTURES, expectedRecord, tsharkFlows, tsharkJson, tsharkSamplers, type TsharkFlow } from './reference.js';

const run = promisify(execFile);
const CLI = join(fileURLToPath(import.meta.url), '..', '..', '..', 'cli.js');

function decodeCapture(pcap: string): { records: FlowRecord[]; decoder: NetFlowDecoder } {
  const decoder = new NetFlowDecoder();
  const records: FlowRecord[] = [];
  for (const d of new PcapReader(readFileSync(pcap)).udp()) records.push(...decoder.decode(d.payload, d.src, Math.floor(d.tsMs)));
  return { records, decoder };
}

const str = (f: TsharkFlow, k: string) => {
  const v = f.fields[k];
  assert.equal(typeof v, 'string', `tshark gives ${k} for frame ${f.frame}`);
  return v as string;
};

for (const c of CAPTURES) {
  test(`${c.name}: every record equals tshark's decode, field by field`, () => {
    const flows = tsharkFlows(tsharkJson(c.pcap));
    const { records, decoder } = decodeCapture(c.pcap);
    assert.ok(flows.length > 30, `tshark decoded ${flows.length} flows`);
    assert.equal(records.length, flows.length);
    const samplers = tsharkSamplers(flows);
    flows.forEach((f, i) => {
      const { time_received, ...got } = records[i]!;
      assert.deepEqual(got, expectedRecord(f, samplers), `record ${i} (frame ${f.frame})`);
      assert.equal(time_received, f.receivedMs);
    });
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    assert.equal(sum(records.map((r) => r.bytes)), sum(flows.map((f) => Number(str(f, 'cflow.octets')))));
    assert.equal(sum(records.map((r) => r.packets)), sum(flows.map((f) => Number(str(f, 'cflow.packets')))));
    const s = decoder.stats();
    assert.equal(s.packets_malformed, 0);
    assert.equal(s.pending, 0);
  });

  test(`${c.name}: estimated loss is the sequence numbers never seen after the first datagram`, () => {
    const seqs = new Map<string, number[]>();
    for (const p of tsharkJson(c.pcap)) {
      const cf = p._source.layers.cflow as Record<string, string>;
      const k = `${p._source.layers.ip!['ip.src']}/${cf['cflow.source_id']}`;
      seqs.set(k, [...(seqs.get(k) ?? []), Number(cf['cflow.sequence'])]);
    }
    const { decoder } = decodeCapture(c.pcap);
    const gaps = decoder.stats().sequenceGaps;
    assert.equal(gaps.length, seqs.size);
    for (const [k, list] of seqs) {
      // Datagrams reorder in these captures: count the numbers between the first one and the
      // highest one that never arrived.
      const seen = new Set(list);
      let missing = 0;
      for (let n = list[0]! + 1; n <= Math.max(...list); n++) if (!seen.has(n)) missing++;
      const g = gaps.find((x) => `${x.exporter}/${x.sourceId}` === k)!;
      assert.equal(g.lost, missing, k);
      assert.equal(g.packets, list.length);
      assert.equal(g.resets, 0);
    }
  });

  test(`${c.name}: per-key sums equal nfacctd's output`, () => {
    const PROTO: Record<string, number> = { tcp: 6, udp: 17, icmp: 1 };
    const FLAG: Record<string, number> = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32 };
    // nfacctd's aggregation primitives that our records carry (its output lines may split a key
    // further by MPLS, VRF and tag primitives; summing both sides per key makes them comparable).
    const key = (k: (string | number)[]) => k.join('|');
    const theirs = new Map<string, { bytes: number; packets: number }>();
    for (const line of readFileSync(c.nfacctd, 'utf8').split('\n').filter(Boolean)) {
      const j = JSON.parse(line);
      const k = key([j.ip_src, j.ip_dst, j.port_src, j.port_dst, PROTO[j.ip_proto] ?? -1, j.tos, j.iface_in, j.iface_out, j.mask_src, j.mask_dst,
        (j.tcp_flags as string[]).reduce((a, f) => a | FLAG[f]!, 0), Number(j.timestamp_start), Number(j.timestamp_end)]);
      const t = theirs.get(k) ?? { bytes: 0, packets: 0 };
      t.bytes += j.bytes; t.packets += j.packets;
      theirs.set(k, t);
    }
    const ours = new Map<string, { bytes: number; packets: number }>();
    for (const r of decodeCapture(c.pcap).records) {
      // nfacctd computes times as unix_secs - (sysUptime - switched) / 1000 in whole seconds,
      // which is our millisecond time rounded up to the second.
      const k = key([r.src_ip, r.dst_ip, r.src_port, r.dst_port, r.protocol, r.tos, r.input_if, r.output_if, r.src_mask, r.dst_mask, r.tcp_flags,
        Math.ceil(r.flow_start / 1000), Math.ceil(r.timestamp / 1000)]);
      const o = ours.get(k) ?? { bytes: 0, packets: 0 };
      o.bytes += r.bytes; o.packets += r.packets;
      ours.set(k, o);
    }
    assert.ok(theirs.size > 20);
    assert.deepEqual(new Map([...ours].sort()), new Map([...theirs].sort()));
  });

  test(`${c.name}: the decode CLI prints as many records and bytes as tshark finds`, async () => {
    const flows = tsharkFlows(tsharkJson(c.pcap));
    const { stdout, stderr } = await run('node', [CLI, 'decode', c.pcap, '--port', '9991']);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as FlowRecord);
    assert.equal(lines.length, flows.length);
    assert.equal(lines.reduce((a, r) => a + r.bytes, 0), flows.reduce((a, f) => a + Number(str(f, 'cflow.octets')), 0));
    assert.equal(lines.reduce((a, r) => a + r.packets, 0), flows.reduce((a, f) => a + Number(str(f, 'cflow.packets')), 0));
    assert.match(stderr, new RegExp(`${lines.length} flow records`));
    const other = await run('node', [CLI, 'decode', c.pcap, '--port', '2055']);
    assert.equal(other.stdout, '', 'no datagram was sent to port 2055');
  });
}

test('decode CLI: a missing, foreign or cut-short file is a clear message and exit code 1', async () => {
  const dir = tempDir('decode-cli');
  try {
    const fail = async (args: string[]) => {
      try { await run('node', [CLI, 'decode', ...args]); } catch (e) { return e as { code: number; stdout: string; stderr: string }; }
      throw new Error(`decode ${args.join(' ')} succeeded`);
    };
    let e = await fail([join(dir.path, 'nope.pcap')]);
    assert.equal(e.code, 1);
    assert.match(e.stderr, /cannot read .*nope\.pcap: no such file/);
    const text = join(dir.path, 'text.pcap');
    writeFileSync(text, 'this is not a capture at all\n');
    e = await fail([text]);
    assert.equal(e.code, 1);
    assert.match(e.stderr, /not a pcap file: unknown magic number/);
    assert.doesNotMatch(e.stderr, /at .*\.js:\d+/, 'no stack trace');
    const whole = readFileSync(CAPTURES[0]!.pcap);
    const cut = join(dir.path, 'cut.pcap');
    writeFileSync(cut, whole.subarray(0, whole.length - 50));
    e = await fail([cut]);
    assert.equal(e.code, 1);
    assert.match(e.stderr, /cut short inside frame 40/);
    assert.equal(e.stdout.trim().split('\n').length, 51 - 3, 'the records of the 39 complete frames are still printed');
    e = await fail(['--port', 'x', CAPTURES[0]!.pcap]);
    assert.equal(e.code, 2);
    assert.match(e.stderr, /--port needs a UDP port number/);
  } finally {
    dir.remove();
  }
});
