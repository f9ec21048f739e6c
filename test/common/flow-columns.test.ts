// The writers' columnar FlowBatch decoder against protobufjs, an independent
// implementation of the same wire format: on our canonical encoding, on
// protobufjs's own (defaults written out), on encodings other producers may
// send (fields out of order, repeated, unknown fields of every wire type,
// extreme varints), and on every truncation of a valid message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs/minimal.js';
import { decodeBatch, decodeFlowColumns, encodeBatch, NetFlowRecord, recordsOf, stringAt, type FlowRecord } from '../../common/flow.js';
import { rng } from '../../demo/traffic.js';

function randomRecord(next: () => number, i: number): FlowRecord {
  const v6 = next() < 0.2;
  const ip = () => (v6 ? `2001:db8::${Math.floor(next() * 65536).toString(16)}` : `10.${Math.floor(next() * 256)}.${Math.floor(next() * 256)}.${Math.floor(next() * 256)}`);
  const t = 1_764_000_000_000 + Math.floor(next() * 86_400_000);
  return {
    timestamp: t, src_ip: ip(), dst_ip: ip(), src_port: Math.floor(next() * 65536), dst_port: i % 7 === 0 ? 0 : 443, protocol: i % 3 === 0 ? 17 : 6,
    bytes: Math.floor(next() ** 4 * 2 ** 40), packets: Math.floor(next() * 1e6), exporter: '192.0.2.1', source_id: i % 4, input_if: Math.floor(next() * 300), output_if: 0xffffffff,
    tcp_flags: Math.floor(next() * 256), tos: 0, src_as: 64_512 + (i % 5), dst_as: 4_200_000_000, src_mask: 24, dst_mask: v6 ? 64 : 0, next_hop: i % 2 ? '' : '192.0.2.254',
    sampling_rate: i % 2 ? 1 : 1000, flow_start: t - Math.floor(next() * 60_000), ip_version: v6 ? 6 : 4, flow_version: 9, time_received: t + 1500,
  };
}

function batch(n: number, seed: number): FlowRecord[] {
  const next = rng(seed);
  return Array.from({ length: n }, (_, i) => randomRecord(next, i));
}

/** protobufjs's reading of the bytes, or the error it throws. */
function reference(bytes: Uint8Array): { records: FlowRecord[]; collector_id: string } | Error {
  try { return decodeBatch(bytes); } catch (err) { return err as Error; }
}

function ours(bytes: Uint8Array): { records: FlowRecord[]; collector_id: string } | Error {
  try {
    const c = decodeFlowColumns(bytes);
    return { records: recordsOf(c), collector_id: c.collector_id };
  } catch (err) { return err as Error; }
}

test('our canonical encoding decodes to what protobufjs reads', () => {
  const records = batch(500, 7);
  const bytes = encodeBatch({ records, collector_id: 'edge-1' });
  const c = decodeFlowColumns(bytes);
  assert.equal(c.rows, 500);
  assert.equal(c.collector_id, 'edge-1');
  assert.deepEqual(recordsOf(c), decodeBatch(bytes).records);
  assert.deepEqual(recordsOf(c), records);
  // Strings are views into the message, not copies.
  assert.equal(c.src_ip.data, bytes);
  assert.equal(stringAt(c.next_hop, 1), '');
});

test("protobufjs's own encoding, defaults written out, decodes the same", () => {
  const records = batch(50, 11).map((r, i) => (i % 5 === 0 ? { ...r, src_port: 0, bytes: 0, next_hop: '', sampling_rate: 0 } : r));
  const w = protobuf.Writer.create();
  for (const r of records) NetFlowRecord.encode(r, w.uint32(10).fork()).ldelim();
  w.uint32(18).string('edge-2');
  const bytes = w.finish();
  assert.ok(bytes.length > encodeBatch({ records, collector_id: 'edge-2' }).length, 'the reference writes default values the canonical encoding leaves out');
  assert.deepEqual(ours(bytes), reference(bytes));
});

test('fields out of order, repeated fields, unknown fields and extreme varints read as protobuf says', () => {
  const rec = protobuf.Writer.create();
  rec.uint32(5 << 3).uint32(53); // dst_port before timestamp
  rec.uint32(1 << 3).int64(-5); // a negative int64
  rec.uint32(2 << 3 | 2).string('10.0.0.1');
  rec.uint32(2 << 3 | 2).string('10.0.0.2'); // a repeated scalar: the last one wins
  rec.uint32(99 << 3).uint64(123_456_789); // unknown varint
  rec.uint32(100 << 3 | 1).fixed64(1); // unknown 64-bit
  rec.uint32(101 << 3 | 2).bytes(new Uint8Array(300)); // unknown length-delimited, a 2-byte length
  rec.uint32(102 << 3 | 5).fixed32(7); // unknown 32-bit
  rec.uint32(7 << 3).uint64(Number.MAX_SAFE_INTEGER); // the largest exact byte count
  rec.uint32(11 << 3).int32(-1); // uint32 sent as a 10-byte varint: its low 32 bits
  rec.uint32(24 << 3).int64(-1);
  const w = protobuf.Writer.create();
  w.uint32(9 << 3).uint32(1); // unknown field of the batch
  w.uint32(10).bytes(rec.finish());
  w.uint32(10).bytes(new Uint8Array(0)); // an empty record: every field absent
  w.uint32(18).string('first');
  w.uint32(18).string('ü-second');
  const bytes = w.finish();
  const want = reference(bytes);
  assert.ok(!(want instanceof Error));
  assert.deepEqual(ours(bytes), want);
  // Values worked out by hand, so the comparison above cannot pass by both being wrong.
  const c = decodeFlowColumns(bytes);
  assert.equal(c.rows, 2);
  assert.equal(c.collector_id, 'ü-second');
  assert.equal(c.timestamp[0], -5);
  assert.equal(stringAt(c.src_ip, 0), '10.0.0.2');
  assert.equal(c.dst_port[0], 53);
  assert.equal(c.bytes[0], 2 ** 53 - 1);
  assert.equal(c.input_if[0], 0xffffffff);
  assert.equal(c.time_received[0], -1);
  assert.equal(c.timestamp[1], 0);
  assert.equal(stringAt(c.exporter, 1), '');
});

test('every truncation of a valid message either fails in both decoders or reads the same', () => {
  // No collector id: protobufjs reads a truncated trailing string as empty, where ours refuses it (below).
  const bytes = encodeBatch({ records: batch(3, 3), collector_id: '' });
  let failures = 0;
  for (let cut = 0; cut < bytes.length; cut++) {
    const part = bytes.subarray(0, cut);
    const want = reference(part);
    const got = ours(part);
    if (want instanceof Error) {
      assert.ok(got instanceof Error, `cut at ${cut}: protobufjs refuses (${want.message}), ours read it`);
      failures++;
    } else assert.deepEqual(got, want, `cut at ${cut}`);
  }
  // Most cuts land inside a record; only the 3 record boundaries (0 records, 1, 2) are valid messages.
  assert.equal(failures, bytes.length - 3);
  const named = encodeBatch({ records: batch(1, 3), collector_id: 'edge-3' });
  assert.throws(() => decodeFlowColumns(named.subarray(0, named.length - 1)), /truncated/);
});

test('a known field with the wrong wire type is refused by name', () => {
  const rec = protobuf.Writer.create().uint32(2 << 3).uint32(5).finish(); // src_ip as a varint
  const bytes = protobuf.Writer.create().uint32(10).bytes(rec).finish();
  assert.throws(() => decodeFlowColumns(bytes), /record 0: src_ip has wire type 0/);
  assert.throws(() => decodeFlowColumns(Uint8Array.of(8, 1)), /FlowBatch field 1 has wire type 0/);
  assert.throws(() => decodeFlowColumns(Uint8Array.of(10, 2, 8, 0xff)), /truncated/);
  assert.throws(() => decodeFlowColumns(Uint8Array.of(10, 11, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)), /longer than 10 bytes/);
});
