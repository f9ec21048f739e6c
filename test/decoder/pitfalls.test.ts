// What real exporters do that decoders get wrong (MISSION.md, items 1-10), each
// reproduced with datagrams built by demo/exporter/packets.ts (and one written
// out in hex by hand). Expected values are worked out here from what was put in
// the packets; the last test has tshark decode the same packets as a second opinion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FlowRecord } from '../../common/flow.js';
import { NetFlowDecoder, type DecoderOptions } from '../../checker/decoder/index.js';
import { writePcap } from '../../checker/pcap.js';
import { encodeRecord, F, IPV6_FIELDS, v5Packet, v9Packet, VARIABLE_LENGTH, type RecordValues, type TemplateField, type V5Record, type V9Set } from '../../demo/exporter/packets.js';
import { tempDir } from '../helpers/process.js';
import { expectedRecord, tsharkFlows, tsharkJson, tsharkSamplers } from './reference.js';

const EXP = '192.0.2.10';
const EXP2 = '198.51.100.7';
const SECS = 1_700_000_000;
const UP = 3_600_000; // sysUptime at SECS: the router booted an hour earlier
const T = SECS * 1000;
const fld = (type: number, length: number): TemplateField => ({ type, length });

const header = (sequence: number, sourceId = 0, dt = 0) => ({ sysUptime: UP + dt * 1000, unixSecs: SECS + dt, sequence, sourceId });
const packet = (h: ReturnType<typeof header>, sets: V9Set[]) => v9Packet(h, sets);
const templates = (...ts: [number, TemplateField[]][]): V9Set => ({ kind: 'templates', templates: ts.map(([id, fields]) => ({ id, fields })) });
const data = (templateId: number, records: Uint8Array[], padding?: number): V9Set => ({ kind: 'data', templateId, records, padding });

// 29 bytes: what most tests use.
const BASIC = [fld(F.IPV4_SRC_ADDR, 4), fld(F.IPV4_DST_ADDR, 4), fld(F.IN_BYTES, 4), fld(F.IN_PKTS, 4), fld(F.L4_SRC_PORT, 2), fld(F.L4_DST_PORT, 2),
  fld(F.PROTOCOL, 1), fld(F.FIRST_SWITCHED, 4), fld(F.LAST_SWITCHED, 4)];
/** Flow i: 10.0.0.i -> 10.9.9.9:80, i packets of 1000 bytes, from 5 s to 1 s before the export. */
const basicValues = (i: number, extra: RecordValues = {}): RecordValues => ({
  [F.IPV4_SRC_ADDR]: `10.0.0.${i}`, [F.IPV4_DST_ADDR]: '10.9.9.9', [F.IN_BYTES]: 1000 * i, [F.IN_PKTS]: i, [F.L4_SRC_PORT]: 1000 + i,
  [F.L4_DST_PORT]: 80, [F.PROTOCOL]: 6, [F.FIRST_SWITCHED]: UP - 5000, [F.LAST_SWITCHED]: UP - 1000, ...extra,
});
const basic = (i: number, extra: RecordValues = {}, fields = BASIC) => encodeRecord(fields, basicValues(i, extra));

interface Datagram { src: string; payload: Uint8Array; receivedMs?: number }

function decodeAll(datagrams: Datagram[], opts?: DecoderOptions): { records: FlowRecord[]; decoder: NetFlowDecoder; each: FlowRecord[][] } {
  const decoder = new NetFlowDecoder(opts);
  const each = datagrams.map((d) => decoder.decode(d.payload, d.src, d.receivedMs ?? T + 100));
  return { records: each.flat(), decoder, each };
}

const pick = <K extends keyof FlowRecord>(rs: FlowRecord[], ...keys: K[]) => rs.map((r) => Object.fromEntries(keys.map((k) => [k, r[k]])));
const noErrors = (d: NetFlowDecoder) => {
  const s = d.stats();
  assert.deepEqual(Object.entries(s.errors).filter(([, n]) => n > 0), [], 'no decode errors');
  assert.equal(s.packets_malformed, 0);
};

// ---- IPv4 and IPv6 ----

// One template for both families, as Cisco exports: the family not in use is all zeros.
const DUAL = [fld(F.IPV4_SRC_ADDR, 4), fld(F.IPV4_DST_ADDR, 4), fld(F.IPV6_SRC_ADDR, 16), fld(F.IPV6_DST_ADDR, 16), fld(F.IPV6_NEXT_HOP, 16),
  fld(F.IN_BYTES, 4), fld(F.IN_PKTS, 4), fld(F.SRC_MASK, 1), fld(F.DST_MASK, 1), fld(F.IPV6_SRC_MASK, 1), fld(F.IPV6_DST_MASK, 1), fld(F.PROTOCOL, 1),
  fld(F.FIRST_SWITCHED, 4), fld(F.LAST_SWITCHED, 4)];

function ipv6Datagrams(): Datagram[] {
  const times = { [F.FIRST_SWITCHED]: UP - 3000, [F.LAST_SWITCHED]: UP - 2000 };
  return [
    { src: '2001:db8:ffff::1', payload: packet(header(1, 50), [templates([256, [...IPV6_FIELDS]]), data(256, [
      encodeRecord(IPV6_FIELDS, { [F.IPV6_SRC_ADDR]: '2001:db8:0:1::10', [F.IPV6_DST_ADDR]: '2001:db8:0:0:1:0:0:1', [F.IPV6_NEXT_HOP]: 'fe80::1',
        [F.IN_BYTES]: 1500, [F.IN_PKTS]: 1, [F.IPV6_SRC_MASK]: 64, [F.IPV6_DST_MASK]: 48, [F.PROTOCOL]: 58, [F.L4_DST_PORT]: 0x8000, ...times }),
      encodeRecord(IPV6_FIELDS, { [F.IPV6_SRC_ADDR]: '::ffff:192.0.2.33', [F.IPV6_DST_ADDR]: '2001:db8::', [F.IN_BYTES]: 60, [F.IN_PKTS]: 1, [F.PROTOCOL]: 6, ...times }),
    ])]) },
    { src: EXP, payload: packet(header(1, 51), [templates([260, DUAL]), data(260, [
      encodeRecord(DUAL, { [F.IPV6_SRC_ADDR]: '2001:db8::a', [F.IPV6_DST_ADDR]: '2001:db8::b', [F.IPV6_NEXT_HOP]: '2001:db8::fe', [F.IN_BYTES]: 700, [F.IN_PKTS]: 7,
        [F.IPV6_SRC_MASK]: 56, [F.IPV6_DST_MASK]: 64, [F.SRC_MASK]: 0, [F.PROTOCOL]: 17, ...times }),
      encodeRecord(DUAL, { [F.IPV4_SRC_ADDR]: '192.0.2.7', [F.IPV4_DST_ADDR]: '198.51.100.9', [F.IN_BYTES]: 800, [F.IN_PKTS]: 8, [F.SRC_MASK]: 24, [F.DST_MASK]: 16,
        [F.IPV6_SRC_MASK]: 0, [F.PROTOCOL]: 6, ...times }),
    ])]) },
  ];
}

test('IPv6 flows, and one template carrying both families', () => {
  const { records, decoder } = decodeAll(ipv6Datagrams());
  assert.deepEqual(pick(records, 'src_ip', 'dst_ip', 'next_hop', 'src_mask', 'dst_mask', 'ip_version', 'bytes', 'protocol', 'dst_port', 'exporter', 'timestamp'), [
    { src_ip: '2001:db8:0:1::10', dst_ip: '2001:db8::1:0:0:1', next_hop: 'fe80::1', src_mask: 64, dst_mask: 48, ip_version: 6, bytes: 1500, protocol: 58, dst_port: 0x8000, exporter: '2001:db8:ffff::1' },
    { src_ip: '::ffff:192.0.2.33', dst_ip: '2001:db8::', next_hop: '', src_mask: 0, dst_mask: 0, ip_version: 6, bytes: 60, protocol: 6, dst_port: 0, exporter: '2001:db8:ffff::1' },
    { src_ip: '2001:db8::a', dst_ip: '2001:db8::b', next_hop: '2001:db8::fe', src_mask: 56, dst_mask: 64, ip_version: 6, bytes: 700, protocol: 17, dst_port: 0, exporter: EXP },
    { src_ip: '192.0.2.7', dst_ip: '198.51.100.9', next_hop: '', src_mask: 24, dst_mask: 16, ip_version: 4, bytes: 800, protocol: 6, dst_port: 0, exporter: EXP },
  ].map((r) => ({ ...r, timestamp: T - 2000 })));
  noErrors(decoder);
});

// ---- 1. template and data interleaved, data first ----

test('1: data sets before their templates in one datagram are decoded; an undecodable set does not stop template learning', () => {
  const SMALL = [fld(F.IPV4_SRC_ADDR, 4), fld(F.IPV4_DST_ADDR, 4), fld(F.IN_BYTES, 4)];
  const small = (a: string, bytes: number) => encodeRecord(SMALL, { [F.IPV4_SRC_ADDR]: a, [F.IPV4_DST_ADDR]: '10.9.9.9', [F.IN_BYTES]: bytes });
  const p = packet(header(1), [
    data(256, [basic(1), basic(2)]),
    data(999, [basic(3)]), // its template never comes
    { kind: 'raw', bytes: Uint8Array.from([0, 7, 0, 8, 1, 2, 3, 4]) }, // reserved set id 7: skipped
    data(257, [small('10.1.1.1', 11), small('10.1.1.2', 22)]),
    templates([256, BASIC], [257, SMALL]),
  ]);
  const { records, decoder } = decodeAll([{ src: EXP, payload: p }]);
  assert.deepEqual(pick(records, 'src_ip', 'bytes', 'packets'), [
    { src_ip: '10.0.0.1', bytes: 1000, packets: 1 }, { src_ip: '10.0.0.2', bytes: 2000, packets: 2 },
    { src_ip: '10.1.1.1', bytes: 11, packets: 0 }, { src_ip: '10.1.1.2', bytes: 22, packets: 0 },
  ]);
  assert.equal(records[0]!.timestamp, T - 1000);
  assert.equal(records[0]!.flow_start, T - 5000);
  const s = decoder.stats();
  assert.equal(s.templates[EXP], 2);
  assert.equal(s.pending, 1, 'the set of template 999 waits');
  noErrors(decoder);
});

test('1: the same datagram written out in hex by hand', () => {
  const hex = [
    '0009 0002 00000064 6553f100 00000001 00000000', // v9, 2 records, uptime 100 ms, unix 1700000000, seq 1, source 0
    '0100 0010 0a000001 0a000002 000005dc', // data set 256: 10.0.0.1 -> 10.0.0.2, 1500 bytes
    '0000 0014 0100 0003 0008 0004 000c 0004 0001 0004', // template 256: src addr, dst addr, bytes (4 bytes each)
  ].join('').replace(/ /g, '');
  const { records, decoder } = decodeAll([{ src: EXP, payload: Buffer.from(hex, 'hex') }]);
  assert.equal(records.length, 1);
  // No time fields: the flow is placed at the export time.
  assert.deepEqual(pick(records, 'src_ip', 'dst_ip', 'bytes', 'timestamp', 'flow_start', 'ip_version', 'flow_version', 'exporter'),
    [{ src_ip: '10.0.0.1', dst_ip: '10.0.0.2', bytes: 1500, timestamp: 1_700_000_000_000, flow_start: 1_700_000_000_000, ip_version: 4, flow_version: 9, exporter: EXP }]);
  noErrors(decoder);
});

// ---- 2. one template id, several scopes ----

const REORDERED = [fld(F.IPV4_DST_ADDR, 4), fld(F.IPV4_SRC_ADDR, 4), fld(F.IN_PKTS, 4), fld(F.IN_BYTES, 4), fld(F.L4_DST_PORT, 2), fld(F.L4_SRC_PORT, 2),
  fld(F.PROTOCOL, 1), fld(F.FIRST_SWITCHED, 4), fld(F.LAST_SWITCHED, 4)];
const WIDE = [fld(F.IN_BYTES, 8), fld(F.IN_PKTS, 8), ...BASIC.filter((f) => f.type !== F.IN_BYTES && f.type !== F.IN_PKTS)];

function scopedDatagrams(): Datagram[] {
  return [
    { src: EXP, payload: packet(header(1, 1), [templates([256, BASIC]), data(256, [basic(1)])]) },
    { src: EXP, payload: packet(header(1, 2), [templates([256, WIDE]), data(256, [basic(2, {}, WIDE)])]) },
    { src: EXP2, payload: packet(header(1, 1), [templates([256, REORDERED]), data(256, [basic(3, {}, REORDERED)])]) },
    // Data under each scope again, templates not repeated.
    { src: EXP2, payload: packet(header(2, 1), [data(256, [basic(6, {}, REORDERED)])]) },
    { src: EXP, payload: packet(header(2, 2), [data(256, [basic(5, {}, WIDE)])]) },
    { src: EXP, payload: packet(header(2, 1), [data(256, [basic(4)])]) },
  ];
}

test('2: one template id under different source ids and exporters keeps a layout per (exporter, source id)', () => {
  const { records, decoder } = decodeAll([...scopedDatagrams(),
    { src: EXP, payload: packet(header(1, 3), [data(256, [basic(7)])]) }]); // source id 3 never defined 256
  assert.deepEqual(pick(records, 'exporter', 'source_id', 'src_ip', 'bytes', 'packets', 'src_port'), [1, 2, 3, 6, 5, 4].map((i) => ({
    exporter: i === 3 || i === 6 ? EXP2 : EXP, source_id: i === 3 || i === 6 ? 1 : i === 2 || i === 5 ? 2 : 1,
    src_ip: `10.0.0.${i}`, bytes: 1000 * i, packets: i, src_port: 1000 + i,
  })));
  const s = decoder.stats();
  assert.deepEqual(s.templates, { [EXP]: 2, [EXP2]: 1 });
  assert.equal(s.pending, 1, 'source id 3 data waits for its own template');
  noErrors(decoder);
});

// ---- 3. redefinition and reboot ----

test('3: the newest definition wins, and data from before a reboot is never read with the new template', () => {
  const SWAPPED = [fld(F.IN_PKTS, 4), fld(F.IN_BYTES, 4), fld(F.IPV4_SRC_ADDR, 4), fld(F.IPV4_DST_ADDR, 4)];
  const COUNTS = [fld(F.IN_BYTES, 4), fld(F.IN_PKTS, 4), fld(F.IPV4_SRC_ADDR, 4), fld(F.IPV4_DST_ADDR, 4)];
  const rec = (fields: TemplateField[], i: number) => encodeRecord(fields, { [F.IN_BYTES]: 1000 * i, [F.IN_PKTS]: i, [F.IPV4_SRC_ADDR]: `10.0.0.${i}`, [F.IPV4_DST_ADDR]: '10.9.9.9' });
  // The router has been up 5 000 s; it reboots 120 s later and comes back with 256 redefined.
  const before = { sysUptime: 5_000_000, unixSecs: SECS, sequence: 500, sourceId: 0 };
  const after = (dt: number, sequence: number) => ({ sysUptime: 30_000 + dt * 1000, unixSecs: SECS + 120 + dt, sequence, sourceId: 0 });
  const { each, decoder } = decodeAll([
    { src: EXP, payload: v9Packet(before, [templates([256, COUNTS]), data(256, [rec(COUNTS, 1)])]) },
    // After the reboot, data written with the new layout arrives before the new template.
    { src: EXP, payload: v9Packet(after(0, 0), [data(256, [rec(SWAPPED, 2)])]) },
    { src: EXP, payload: v9Packet(after(1, 1), [templates([256, SWAPPED]), data(256, [rec(SWAPPED, 3)])]) },
    // A datagram from before the reboot, delayed in the network.
    { src: EXP, payload: v9Packet({ ...before, sysUptime: 5_010_000, unixSecs: SECS + 10, sequence: 501 }, [data(256, [rec(COUNTS, 4)])]) },
    // Redefined again without a reboot: the newest definition wins.
    { src: EXP, payload: v9Packet(after(2, 2), [templates([256, COUNTS]), data(256, [rec(COUNTS, 5)])]) },
  ]);
  assert.deepEqual(each.map((rs) => pick(rs, 'src_ip', 'bytes', 'packets')), [
    [{ src_ip: '10.0.0.1', bytes: 1000, packets: 1 }],
    [], // held: the template it was written with is not known yet
    [{ src_ip: '10.0.0.3', bytes: 3000, packets: 3 }, { src_ip: '10.0.0.2', bytes: 2000, packets: 2 }],
    [],
    [{ src_ip: '10.0.0.5', bytes: 5000, packets: 5 }],
  ]);
  const s = decoder.stats();
  assert.equal(s.sequenceGaps[0]!.restarts, 1);
  assert.equal(s.errors.stale_packet, 1);
  assert.equal(s.pending_decoded, 1);
});

test('3: a data set whose length does not fit its (stale) template is dropped, not misread', () => {
  const TWELVE = [fld(F.IPV4_SRC_ADDR, 4), fld(F.IPV4_DST_ADDR, 4), fld(F.IN_BYTES, 4)];
  const SIXTEEN = [...TWELVE, fld(F.IN_PKTS, 4)];
  const rec = (i: number) => encodeRecord(SIXTEEN, { [F.IPV4_SRC_ADDR]: `10.0.0.${i}`, [F.IPV4_DST_ADDR]: '10.9.9.9', [F.IN_BYTES]: 100, [F.IN_PKTS]: 1 });
  const { records, decoder } = decodeAll([
    { src: EXP, payload: packet(header(1), [templates([256, TWELVE])]) },
    // Written with a 16-byte layout the collector never saw: 32 bytes = 2 records of 12 and 8 left over.
    { src: EXP, payload: packet(header(2), [data(256, [rec(1), rec(2)])]) },
  ]);
  assert.equal(records.length, 0);
  assert.equal(decoder.stats().errors.template_mismatch, 1);
});

// ---- 4. data before its template, across datagrams ----

test('4: data waiting for its template is bounded, decoded when the template comes, and expires', () => {
  const datagrams: Datagram[] = [1, 2, 3, 4, 5].map((i) => ({ src: EXP, receivedMs: T + i * 1000,
    payload: packet(header(i, 0, i), [data(256, [basic(i, { [F.LAST_SWITCHED]: UP + i * 1000 - 1000 })])]) }));
  datagrams.push({ src: EXP, receivedMs: T + 6000, payload: packet(header(6, 0, 6), [templates([256, BASIC])]) });
  datagrams.push({ src: EXP, receivedMs: T + 7000, payload: packet(header(7, 0, 7), [data(300, [basic(8)])]) });
  datagrams.push({ src: EXP2, receivedMs: T + 20_000, payload: packet(header(1), [templates([256, BASIC])]) });
  const { each, decoder } = decodeAll(datagrams, { pendingPerExporter: 3, pendingTtlMs: 10_000 });
  assert.deepEqual(each.map((rs) => rs.length), [0, 0, 0, 0, 0, 3, 0, 0]);
  // Each held record keeps the clock of the datagram it came in (flow ended 1 s before its export).
  assert.deepEqual(pick(each[5]!, 'src_ip', 'timestamp', 'time_received'), [1, 2, 3].map((i) => ({ src_ip: `10.0.0.${i}`, timestamp: T + i * 1000 - 1000, time_received: T + i * 1000 })));
  const s = decoder.stats();
  assert.deepEqual([s.pending, s.pending_decoded, s.pending_dropped, s.pending_expired], [0, 3, 2, 1]);
  assert.equal(s.pending_bytes, 0);
});

// ---- 5. sampling ----

const SAMPLED = [...BASIC, fld(F.FLOW_SAMPLER_ID, 1)];
const IPFIX_SAMPLED = [...BASIC, fld(F.SELECTOR_ID, 8)];

function samplingDatagrams(): Datagram[] {
  const samplerOpts = { scope: [fld(1, 4)], options: [fld(F.FLOW_SAMPLER_ID, 1), fld(F.FLOW_SAMPLER_MODE, 1), fld(F.FLOW_SAMPLER_RANDOM_INTERVAL, 4)] };
  const intervalOpts = { scope: [fld(1, 4)], options: [fld(F.SAMPLING_INTERVAL, 4), fld(F.SAMPLING_ALGORITHM, 1)] };
  const spaceOpts = { scope: [fld(1, 4)], options: [fld(F.SELECTOR_ID, 8), fld(F.SAMPLING_PACKET_INTERVAL, 4), fld(F.SAMPLING_PACKET_SPACE, 4)] };
  const opt = (o: typeof samplerOpts, v: RecordValues) => encodeRecord([...o.scope, ...o.options], v);
  return [
    // Two samplers on one exporter, keyed by sampler id; the flows name theirs.
    { src: EXP, payload: packet(header(1, 10), [
      { kind: 'options-templates', templates: [{ id: 300, ...samplerOpts }] },
      data(300, [opt(samplerOpts, { [F.FLOW_SAMPLER_ID]: 1, [F.FLOW_SAMPLER_MODE]: 2, [F.FLOW_SAMPLER_RANDOM_INTERVAL]: 100 }),
        opt(samplerOpts, { [F.FLOW_SAMPLER_ID]: 2, [F.FLOW_SAMPLER_MODE]: 2, [F.FLOW_SAMPLER_RANDOM_INTERVAL]: 1000 })]),
      templates([301, SAMPLED]),
      data(301, [basic(1, { [F.FLOW_SAMPLER_ID]: 1 }, SAMPLED), basic(2, { [F.FLOW_SAMPLER_ID]: 2 }, SAMPLED), basic(3, { [F.FLOW_SAMPLER_ID]: 3 }, SAMPLED)]),
    ]) },
    // One interval for the whole source id.
    { src: EXP, payload: packet(header(1, 11), [
      { kind: 'options-templates', templates: [{ id: 310, ...intervalOpts }] },
      templates([311, BASIC]),
      data(311, [basic(4)]), // the options data comes later in the same datagram and still applies
      data(310, [opt(intervalOpts, { [F.SAMPLING_INTERVAL]: 512, [F.SAMPLING_ALGORITHM]: 1 })]),
    ]) },
    // IPFIX-style: select 1 packet, skip 99.
    { src: EXP2, payload: packet(header(1, 12), [
      { kind: 'options-templates', templates: [{ id: 320, ...spaceOpts }] },
      data(320, [opt(spaceOpts, { [F.SELECTOR_ID]: 5, [F.SAMPLING_PACKET_INTERVAL]: 1, [F.SAMPLING_PACKET_SPACE]: 99 })]),
      templates([321, IPFIX_SAMPLED]),
      data(321, [basic(5, { [F.SELECTOR_ID]: 5 }, IPFIX_SAMPLED)]),
    ]) },
    // Another source id of the same exporter announced nothing.
    { src: EXP, payload: packet(header(1, 13), [templates([311, BASIC]), data(311, [basic(6)])]) },
  ];
}

const v5Record = (i: number): V5Record => ({ src_ip: `172.16.0.${i}`, dst_ip: '8.8.8.8', next_hop: '172.16.0.254', input_if: 1, output_if: 2, packets: i, bytes: 100 * i,
  first: 8000, last: 9000, src_port: 5000 + i, dst_port: 53, protocol: 17, tos: 0x10, src_as: 64512, dst_as: 15169, src_mask: 24, dst_mask: 8, tcp_flags: 0 });

function v5Datagrams(): Datagram[] {
  const h = { sysUptime: 10_000, unixSecs: SECS, unixNsecs: 250_000_000, engineType: 1, engineId: 2 };
  return [
    { src: '203.0.113.5', payload: v5Packet({ ...h, sequence: 0, samplingInterval: 64, samplingMode: 1 }, [v5Record(1), v5Record(2)]) },
    { src: '203.0.113.6', payload: v5Packet({ ...h, sequence: 0, samplingInterval: 0x3fff, samplingMode: 2 }, [v5Record(3)]) },
    { src: '203.0.113.7', payload: v5Packet({ ...h, sequence: 0 }, [v5Record(4)]) },
  ];
}

test('5: sampling rate from options by sampler id, interval, interval + space, the v5 header, or the configured default', () => {
  const { records, decoder } = decodeAll([...samplingDatagrams(), ...v5Datagrams()], { defaultSamplingRate: (e) => (e === EXP || e === '203.0.113.7' ? 10 : undefined) });
  assert.deepEqual(pick(records, 'src_ip', 'sampling_rate'), [
    { src_ip: '10.0.0.1', sampling_rate: 100 }, { src_ip: '10.0.0.2', sampling_rate: 1000 },
    { src_ip: '10.0.0.3', sampling_rate: 10 }, // sampler 3 unknown: the configured default
    { src_ip: '10.0.0.4', sampling_rate: 512 },
    { src_ip: '10.0.0.5', sampling_rate: 100 },
    { src_ip: '10.0.0.6', sampling_rate: 10 },
    { src_ip: '172.16.0.1', sampling_rate: 64 }, { src_ip: '172.16.0.2', sampling_rate: 64 },
    { src_ip: '172.16.0.3', sampling_rate: 16383 },
    { src_ip: '172.16.0.4', sampling_rate: 10 },
  ]);
  // Raw counters, never scaled.
  assert.deepEqual(records.map((r) => r.bytes), [1000, 2000, 3000, 4000, 5000, 6000, 100, 200, 300, 400]);
  noErrors(decoder);
  const plain = decodeAll(v5Datagrams().slice(2)).records;
  assert.equal(plain[0]!.sampling_rate, 1, 'no announcement and no default: 1');
});

// ---- 6. variable-length fields ----

const VARIABLE = [fld(F.IN_BYTES, 4), fld(82, VARIABLE_LENGTH), fld(F.IPV4_SRC_ADDR, 4), fld(F.IPV4_DST_ADDR, 4), fld(96, VARIABLE_LENGTH),
  fld(F.L4_SRC_PORT, 2), fld(F.L4_DST_PORT, 2), fld(F.PROTOCOL, 1), fld(F.FIRST_SWITCHED, 4), fld(F.LAST_SWITCHED, 4)];

function variableDatagrams(): Datagram[] {
  return [{ src: EXP, payload: packet(header(1, 20), [templates([400, VARIABLE]), data(400, [
    basic(1, { 82: 'Gi0/0/1', 96: 'http' }, VARIABLE),
    basic(2, { 82: 'x'.repeat(300), 96: '' }, VARIABLE), // 255 then a 2-byte length; then an empty value
    basic(3, { 82: 'y'.repeat(254), 96: 'dns' }, VARIABLE), // the longest 1-byte length
  ])]) }];
}

test('6: variable-length fields, in the 1-byte and the 255 + 2-byte forms, do not misalign what follows', () => {
  const { records, decoder } = decodeAll(variableDatagrams());
  assert.deepEqual(pick(records, 'src_ip', 'dst_ip', 'bytes', 'src_port', 'dst_port', 'protocol', 'timestamp'),
    [1, 2, 3].map((i) => ({ src_ip: `10.0.0.${i}`, dst_ip: '10.9.9.9', bytes: 1000 * i, src_port: 1000 + i, dst_port: 80, protocol: 6, timestamp: T - 1000 })));
  noErrors(decoder);
  // A length that runs past the end of the set: the set is dropped whole.
  const bad = basic(4, { 82: 'Gi0/0/4' }, VARIABLE);
  bad[4] = 200;
  const r = decodeAll([...variableDatagrams(), { src: EXP, payload: packet(header(2, 20), [data(400, [basic(5, { 82: 'ok' }, VARIABLE), bad])]) }]);
  assert.equal(r.records.length, 3);
  assert.equal(r.decoder.stats().errors.template_mismatch, 1);
});

// ---- 7. padding and empty sets ----

function paddingDatagrams(): Datagram[] {
  return [
    { src: EXP, payload: packet(header(1, 30), [{ kind: 'templates', templates: [{ id: 256, fields: BASIC }], padding: 2 }, data(256, [basic(1), basic(2)], 2)]) },
    // No padding at all (unaligned sets are legal), then a set padded with more than 3 zeros.
    { src: EXP, payload: packet(header(2, 30), [data(256, [basic(3)], 0), data(256, [basic(4)], 11)]) },
  ];
}

test('7: padding after the last record and zero-length sets end the work cleanly, with one error per broken datagram', () => {
  const { records, decoder } = decodeAll(paddingDatagrams());
  assert.deepEqual(records.map((r) => r.src_ip), ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']);
  noErrors(decoder);
  // Zero bytes after the last set (some exporters pad the datagram): nothing more, no error.
  const padded = (n: number) => { const p = packet(header(3, 30), [data(256, [basic(5)])]); const out = new Uint8Array(p.length + n); out.set(p); return out; };
  // A set that says it is 0 bytes long, followed by junk: the rest is dropped.
  const broken = (i: number) => packet(header(4 + i, 30), [data(256, [basic(6)]), { kind: 'raw', bytes: Uint8Array.from([1, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef]) }, data(256, [basic(7)])]);
  // More zeros than a whole record: they make no all-zero flow.
  const longPad = packet(header(3, 30), [data(256, [basic(8)], 29 * 2 + 3)]);
  const more = decodeAll([...paddingDatagrams(), { src: EXP, payload: padded(3) }, { src: EXP, payload: padded(8) }, { src: EXP, payload: longPad },
    ...Array.from({ length: 1000 }, (_, i) => ({ src: EXP, payload: broken(i) }))]);
  assert.equal(more.records.length, 4 + 2 + 1 + 1000, 'records before the broken set are kept');
  assert.ok(more.records.every((r) => r.src_ip !== '0.0.0.0'));
  const s = more.decoder.stats();
  assert.equal(s.errors.set_length, 1000, 'one error per broken datagram, not one per byte');
  assert.equal(s.packets_malformed, 1000);
});

// ---- 8. sequence numbers ----

test('8: loss per (exporter, source id): v5 counts flows, v9 counts datagrams; reordering and resets are not loss', () => {
  const v5 = (sequence: number, n: number, engineId = 0) => v5Packet({ sysUptime: 10_000 + sequence, unixSecs: SECS, sequence, engineId }, Array.from({ length: n }, (_, i) => v5Record(i + 1)));
  const v9 = (sequence: number, sourceId: number) => packet(header(sequence, sourceId), [templates([256, BASIC])]);
  const { decoder } = decodeAll([
    // v5 engine 0: 30 + 30, then the next 30 flows lost, then 10.
    { src: EXP, payload: v5(0, 30) }, { src: EXP, payload: v5(30, 30) }, { src: EXP, payload: v5(90, 10) },
    // v5 engine 1 on the same exporter: its own counter, no loss.
    { src: EXP, payload: v5(7, 5, 1) }, { src: EXP, payload: v5(12, 5, 1) },
    // v9 source 1: 1 2 4 3 (late, fills the gap) 8 (5, 6, 7 lost), then the router restarts (its clock says so) at 0.
    ...[1, 2, 4, 3, 8].map((s) => ({ src: EXP2, payload: v9(s, 1) })),
    ...[0, 1].map((s) => ({ src: EXP2, payload: packet({ sysUptime: 20_000 + s, unixSecs: SECS + 300, sequence: s, sourceId: 1 }, [templates([256, BASIC])]) })),
    // v9 source 2 of the same exporter: 100, 103 (2 lost), 100 again (a duplicate, late).
    ...[100, 103, 100].map((s) => ({ src: EXP2, payload: v9(s, 2) })),
    // The 32-bit counter wrapping is not a reset.
    ...[0xfffffffe, 0xffffffff, 0, 2].map((s) => ({ src: EXP2, payload: v9(s, 3) })),
    // A jump too far to be loss (another process took over the source id) is a reset.
    ...[10, 11, 500_000, 500_001].map((s) => ({ src: EXP2, payload: v9(s, 4) })),
  ]);
  const by = Object.fromEntries(decoder.stats().sequenceGaps.map((g) => [`${g.exporter}/${g.sourceId}`, g]));
  const view = (k: string) => { const g = by[k]!; return { packets: g.packets, gaps: g.gaps, lost: g.lost, reordered: g.reordered, resets: g.resets }; };
  assert.deepEqual(view(`${EXP}/0`), { packets: 3, gaps: 1, lost: 30, reordered: 0, resets: 0 });
  assert.deepEqual(view(`${EXP}/1`), { packets: 2, gaps: 0, lost: 0, reordered: 0, resets: 0 });
  assert.deepEqual(view(`${EXP2}/1`), { packets: 7, gaps: 2, lost: 3, reordered: 1, resets: 1 });
  assert.deepEqual(view(`${EXP2}/2`), { packets: 3, gaps: 1, lost: 2, reordered: 1, resets: 0 });
  assert.deepEqual(view(`${EXP2}/3`), { packets: 4, gaps: 1, lost: 1, reordered: 0, resets: 0 });
  assert.deepEqual(view(`${EXP2}/4`), { packets: 4, gaps: 0, lost: 0, reordered: 0, resets: 1 });
  assert.equal(by[`${EXP2}/1`]!.restarts, 1);
});

test('8: v5 and v9 from one exporter under the same source id keep separate sequences', () => {
  const v9 = (sequence: number) => packet(header(sequence, 0), [templates([256, BASIC])]);
  const v5 = (sequence: number) => v5Packet({ sysUptime: 10_000 + sequence, unixSecs: SECS, sequence }, Array.from({ length: 10 }, (_, i) => v5Record(i + 1)));
  const { decoder } = decodeAll([0, 1, 2].map((s) => ({ src: EXP, payload: v9(s) })).concat([0, 10].map((s) => ({ src: EXP, payload: v5(s) }))));
  const gaps = decoder.stats().sequenceGaps.filter((g) => g.exporter === EXP).map((g) => ({ version: g.version, sourceId: g.sourceId, packets: g.packets, lost: g.lost }));
  assert.deepEqual(gaps.sort((a, b) => a.version - b.version), [
    { version: 5, sourceId: 0, packets: 2, lost: 0 },
    { version: 9, sourceId: 0, packets: 3, lost: 0 },
  ]);
});

// ---- 9. field lengths ----

const rest = BASIC.filter((f) => ![F.IN_BYTES, F.IN_PKTS].includes(f.type as 1 | 2));
const LENGTHS: [number, TemplateField[], RecordValues][] = [
  [500, [fld(F.IN_BYTES, 8), fld(F.IN_PKTS, 8), fld(F.INPUT_SNMP, 2), fld(F.OUTPUT_SNMP, 2), fld(F.SRC_AS, 2), fld(F.DST_AS, 2), ...rest],
    { [F.IN_BYTES]: 2n ** 40n + 1n, [F.IN_PKTS]: 2 ** 33, [F.INPUT_SNMP]: 65535, [F.OUTPUT_SNMP]: 2, [F.SRC_AS]: 65001, [F.DST_AS]: 64512 }],
  [501, [fld(F.IN_BYTES, 2), fld(F.IN_PKTS, 1), fld(F.INPUT_SNMP, 4), fld(F.OUTPUT_SNMP, 4), fld(F.SRC_AS, 4), fld(F.DST_AS, 4), ...rest],
    { [F.IN_BYTES]: 65535, [F.IN_PKTS]: 255, [F.INPUT_SNMP]: 2 ** 31 + 5, [F.OUTPUT_SNMP]: 4_000_000_000, [F.SRC_AS]: 4_200_000_000, [F.DST_AS]: 131072 }],
  [502, [fld(F.IN_BYTES, 3), fld(F.IN_PKTS, 3), ...rest], { [F.IN_BYTES]: 0xabcdef, [F.IN_PKTS]: 70_000 }],
  // Egress-only exporters send OUT_ counters; permanent-flow templates may send only the totals.
  [503, [fld(F.OUT_BYTES, 4), fld(F.OUT_PKTS, 4), ...rest], { [F.OUT_BYTES]: 4321, [F.OUT_PKTS]: 21 }],
  [504, [fld(F.IN_PERMANENT_BYTES, 8), fld(F.IN_PERMANENT_PKTS, 8), ...rest], { [F.IN_PERMANENT_BYTES]: 987_654_321, [F.IN_PERMANENT_PKTS]: 4321 }],
  // ICMP type and code in their own field: they go in dst_port (type * 256 + code), as nfdump shows them.
  [505, [...BASIC, fld(F.ICMP_TYPE, 2)], { [F.PROTOCOL]: 1, [F.L4_SRC_PORT]: 0, [F.L4_DST_PORT]: 0, [F.ICMP_TYPE]: 0x0303 }],
];

function lengthDatagrams(): Datagram[] {
  return [{ src: EXP, payload: packet(header(1, 40), [
    templates(...LENGTHS.map(([id, fields]) => [id, fields] as [number, TemplateField[]])),
    ...LENGTHS.map(([id, fields, v], i) => data(id, [encodeRecord(fields, basicValues(i + 1, v))])),
  ]) }];
}

test('9: counters of 1 to 8 bytes, 2- and 4-byte interfaces and AS numbers, OUT_ and total counters', () => {
  const { records, decoder } = decodeAll(lengthDatagrams());
  assert.deepEqual(pick(records, 'bytes', 'packets', 'input_if', 'output_if', 'src_as', 'dst_as', 'src_ip', 'src_port', 'timestamp'), [
    { bytes: 2 ** 40 + 1, packets: 2 ** 33, input_if: 65535, output_if: 2, src_as: 65001, dst_as: 64512 },
    { bytes: 65535, packets: 255, input_if: 2 ** 31 + 5, output_if: 4_000_000_000, src_as: 4_200_000_000, dst_as: 131072 },
    { bytes: 0xabcdef, packets: 70_000, input_if: 0, output_if: 0, src_as: 0, dst_as: 0 },
    { bytes: 4321, packets: 21, input_if: 0, output_if: 0, src_as: 0, dst_as: 0 },
    { bytes: 987_654_321, packets: 4321, input_if: 0, output_if: 0, src_as: 0, dst_as: 0 },
  ].map((x, i) => ({ ...x, src_ip: `10.0.0.${i + 1}`, src_port: 1000 + i + 1, timestamp: T - 1000 })).concat(
    [{ bytes: 6000, packets: 6, input_if: 0, output_if: 0, src_as: 0, dst_as: 0, src_ip: '10.0.0.6', src_port: 0, timestamp: T - 1000 }]));
  assert.deepEqual(pick(records.slice(5), 'protocol', 'dst_port'), [{ protocol: 1, dst_port: 0x0303 }]);
  noErrors(decoder);
});

test('times: sysUptime wrapping past 2^32 ms (49.7 days) between a flow and its export', () => {
  const wrapped = (sequence: number, sysUptime: number, dt: number, last: number, first: number) =>
    packet({ sysUptime, unixSecs: SECS + dt, sequence, sourceId: 0 }, [templates([256, BASIC]), data(256, [basic(1, { [F.LAST_SWITCHED]: last, [F.FIRST_SWITCHED]: first })])]);
  const { records, decoder } = decodeAll([
    // Just before the wrap: uptime 2^32 - 1000.
    { src: EXP, payload: wrapped(1, 2 ** 32 - 1000, 0, 2 ** 32 - 3000, 2 ** 32 - 9000) },
    // 6 s later the uptime has wrapped to 5000; the flow started before the wrap and ended after it.
    { src: EXP, payload: wrapped(2, 5000, 6, 2000, 2 ** 32 - 4000) },
  ]);
  assert.deepEqual(pick(records, 'timestamp', 'flow_start'), [
    { timestamp: T - 2000, flow_start: T - 8000 },
    { timestamp: T + 6000 - 3000, flow_start: T + 6000 - 9000 },
  ]);
  assert.equal(decoder.stats().sequenceGaps[0]!.restarts, 0, 'a wrap is not a restart');
  assert.equal(decoder.stats().templates_learned, 1, 'so the template was kept');
});

test('9: a known field with a length it cannot have is skipped by its length, not misread', () => {
  const ODD = [fld(F.IPV4_SRC_ADDR, 16), fld(F.IPV4_DST_ADDR, 4), fld(F.L4_SRC_PORT, 8), fld(F.IN_BYTES, 4), fld(F.PROTOCOL, 1), fld(12345, 7), fld(F.IN_PKTS, 4)];
  const rec = encodeRecord(ODD, { [F.IPV4_SRC_ADDR]: new Uint8Array(16).fill(9), [F.IPV4_DST_ADDR]: '10.9.9.9', [F.L4_SRC_PORT]: 7, [F.IN_BYTES]: 1234, [F.PROTOCOL]: 17, 12345: 0xffffffffn, [F.IN_PKTS]: 3 });
  const { records, decoder } = decodeAll([{ src: EXP, payload: packet(header(1), [templates([256, ODD]), data(256, [rec, rec])]) }]);
  assert.deepEqual(pick(records, 'src_ip', 'dst_ip', 'src_port', 'bytes', 'protocol', 'packets'),
    Array(2).fill({ src_ip: '', dst_ip: '10.9.9.9', src_port: 0, bytes: 1234, protocol: 17, packets: 3 }));
  noErrors(decoder);
});

// ---- 10. truncated and garbage datagrams (the bulk of it is in hostile.test.ts) ----

test('10: truncated, garbage and lying datagrams written by hand are counted and dropped', () => {
  const good = packet(header(1), [templates([256, BASIC]), data(256, [basic(1)])]);
  const hex = (h: string) => Buffer.from(h.replace(/ /g, ''), 'hex');
  const cases: [string, Uint8Array, string][] = [
    ['empty', new Uint8Array(0), 'short_datagram'],
    ['3 bytes', hex('000900'), 'short_datagram'],
    ['v9 header cut', good.subarray(0, 19), 'short_datagram'],
    ['IPFIX', hex('000a 0010 6553f100 00000001 00000000'), 'unsupported_version'],
    ['text', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 'unsupported_version'],
    ['v5 with 31 records', hex('0005 001f 00002710 6553f100 00000000 00000000 0000 0000'), 'v5_bad_count'],
    ['v5 with 0 records', hex('0005 0000 00002710 6553f100 00000000 00000000 0000 0000'), 'v5_bad_count'],
    ['v5 cut in a record', v5Packet({ sysUptime: 1, unixSecs: SECS, sequence: 0 }, [v5Record(1), v5Record(2)]).subarray(0, 24 + 48 + 10), 'v5_truncated'],
    ['v9 set longer than the datagram', good.subarray(0, good.length - 4), 'set_length'],
    ['template field count past its set', hex('0009 0001 00000064 6553f100 00000001 00000000 0000 000c 0100 00ff 0008 0004'), 'bad_template'],
    ['template with id below 256', hex('0009 0001 00000064 6553f100 00000001 00000000 0000 000c 0005 0001 0008 0004'), 'bad_template'],
    ['template of zero-length fields', hex('0009 0001 00000064 6553f100 00000001 00000000 0000 000c 0100 0001 0008 0000'), 'bad_template'],
    ['options template scope length not a multiple of 4', hex('0009 0001 00000064 6553f100 00000001 00000000 0001 000c 0101 0003 0004 0001 0004'), 'bad_template'],
  ];
  for (const [name, bytes, kind] of cases) {
    const d = new NetFlowDecoder();
    assert.deepEqual(d.decode(bytes, EXP, T), [], name);
    const s = d.stats();
    assert.equal(s.errors[kind as keyof typeof s.errors], 1, `${name}: ${kind}`);
    assert.equal(s.packets, 1);
    assert.equal(s.packets_malformed, 1, name);
  }
  // The v9 header alone is a valid, empty export.
  const d = new NetFlowDecoder();
  assert.deepEqual(d.decode(good.subarray(0, 20), EXP, T), []);
  assert.equal(d.stats().packets_malformed, 0);
});

// ---- second opinion ----

test('tshark decodes the same built datagrams to the same records', () => {
  const datagrams = [...ipv6Datagrams(), ...scopedDatagrams(), ...samplingDatagrams(), ...variableDatagrams(), ...paddingDatagrams(), ...lengthDatagrams(), ...v5Datagrams()];
  const dir = tempDir('pitfalls-pcap');
  try {
    const pcap = join(dir.path, 'built.pcap');
    writeFileSync(pcap, writePcap(datagrams.map((d, i) => ({ tsMs: T + 100 + i, src: d.src, dst: d.src.includes(':') ? '2001:db8::2' : '192.0.2.1', srcPort: 40000, dstPort: 2055, payload: d.payload }))));
    const flows = tsharkFlows(tsharkJson(pcap, 2055));
    const samplers = tsharkSamplers(flows);
    const wanted = flows.filter((f) => !f.options);
    const { records } = decodeAll(datagrams);
    assert.equal(records.length, wanted.length);
    assert.ok(records.length >= 25);
    wanted.forEach((f, i) => {
      const { time_received: _, ...got } = records[i]!;
      assert.deepEqual(got, expectedRecord(f, samplers), `record ${i} (frame ${f.frame})`);
    });
  } finally {
    dir.remove();
  }
});
