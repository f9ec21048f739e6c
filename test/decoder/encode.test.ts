// The generated FlowBatch encoder (common/flow.ts encodeBatch) against protobufjs:
// byte for byte equal to protobufjs's encoding of the same records with their
// default-valued fields left out (canonical proto3), and decoded back by protobufjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeBatch, emptyRecord, encodeBatch, RECORD_FIELDS, type FlowRecord } from '../../common/flow.js';
import { serviceradar } from '../../proto/gen/flow.js';
import { NetFlowDecoder } from '../../checker/decoder/index.js';
import { PcapReader } from '../../checker/pcap.js';
import { V9Exporter, type ExportFlow } from '../../demo/exporter/packets.js';
import { CAPTURES } from './reference.js';

function reference(records: FlowRecord[], collector_id: string): Uint8Array {
  const canonical = records.map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== 0 && v !== '')));
  return serviceradar.netflow.FlowBatch.encode({ records: canonical, collector_id: collector_id || undefined }).finish();
}

function check(records: FlowRecord[], collector_id: string) {
  const ours = encodeBatch({ records, collector_id });
  assert.deepEqual(Buffer.from(ours), Buffer.from(reference(records, collector_id)));
  const back = decodeBatch(ours);
  assert.equal(back.collector_id, collector_id);
  assert.deepEqual(back.records, records);
}

function decodedCaptures(): FlowRecord[] {
  const out: FlowRecord[] = [];
  for (const c of CAPTURES) {
    const d = new NetFlowDecoder();
    for (const u of new PcapReader(readFileSync(c.pcap)).udp()) out.push(...d.decode(u.payload, u.src, Math.floor(u.tsMs)));
  }
  return out;
}

test('records decoded from the real captures encode as protobufjs encodes them', () => {
  const records = decodedCaptures();
  assert.ok(records.length > 80);
  check(records, 'edge-1');
});

test('IPv6 records longer than 127 bytes, with repeated strings across them', () => {
  const now = 1_700_000_000_000;
  const flows: ExportFlow[] = Array.from({ length: 50 }, (_, i) => ({
    src_ip: `2001:db8:${i.toString(16)}:ffff:1234:5678:9abc:def0`, dst_ip: i % 3 ? '2001:db8::1' : `fe80::${i}`, src_port: 40000 + i, dst_port: 443,
    protocol: 6, bytes: 2 ** 40 + i, packets: 2 ** 33, timestamp: now - i, flow_start: now - 60_000, input_if: 2 ** 31 + i, output_if: 4_000_000_000,
    tcp_flags: 0x1b, tos: 0xb8, src_as: 4_200_000_000, dst_as: 65000, src_mask: 64, dst_mask: 128, next_hop: i % 2 ? '2001:db8:ffff:ffff:ffff:ffff:ffff:fffe' : '',
  }));
  const d = new NetFlowDecoder();
  const records = new V9Exporter({ bootMs: now - 86_400_000 }).packets(flows, now).flatMap((p) => d.decode(p, '2001:db8:aaaa::99', now));
  assert.equal(records.length, 50);
  assert.ok(records.some((r) => Buffer.from(encodeBatch({ records: [r], collector_id: '' })).length > 130));
  check(records, '');
});

test('edge values: all defaults, negative and large 64-bit, non-ASCII and long strings', () => {
  const base = emptyRecord();
  const full = Object.fromEntries(RECORD_FIELDS.map((f) => [f.name, f.type === 'string' ? 'x' : 1])) as FlowRecord;
  const records: FlowRecord[] = [
    { ...base, sampling_rate: 0 },
    base,
    full,
    { ...base, timestamp: -1, flow_start: -1_700_000_000_000, time_received: 2 ** 53 - 1, bytes: 2 ** 52 + 7, packets: 0xffffffff + 1 },
    { ...base, exporter: 'zürich-rtr-1', src_ip: 'ok', dst_ip: '路由器', next_hop: '🛰️' },
    { ...base, next_hop: 'n'.repeat(300), exporter: 'é'.repeat(100) },
    { ...base, next_hop: 'n'.repeat(300), exporter: 'é'.repeat(100) },
    { ...base, src_port: 65535, dst_port: 1, protocol: 255, source_id: 0xffffffff, ip_version: 6, flow_version: 9 },
  ];
  check(records, 'collector é 1');
  check([], 'only-a-collector');
  check([], '');
  check(records.concat(records).concat(records), 'x'.repeat(200));
});

test('many batches of different sizes reuse the scratch buffer safely', () => {
  const records = decodedCaptures();
  const big = Array.from({ length: 20_000 }, (_, i) => records[i % records.length]!);
  check(big, 'big');
  check(records.slice(0, 3), 'small after big');
  const a = encodeBatch({ records: records.slice(0, 10), collector_id: 'a' });
  const copy = Buffer.from(a);
  encodeBatch({ records: records.slice(10, 40), collector_id: 'b' });
  assert.deepEqual(Buffer.from(a), copy, 'an earlier result is not overwritten by the next call');
});
