// The cold writer's staging: values checked and strings interned when a
// message is pulled (columns.ts), and a batch that arrives out of time order
// and spans two days written as one time-sorted file per day with exact
// statistics (parquet.ts). Files are read back by a separate DuckDB instance
// through read_parquet; expected values are worked out here from the records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { decodeFlowColumns, emptyRecord, encodeBatch, toColumns, type FlowRecord } from '../../common/flow.js';
import { Interner, prepareFlows, StringTable } from '../../consumers/iceberg/columns.js';
import { ParquetWriter, timeOrder } from '../../consumers/iceberg/parquet.js';
import { COLUMNS, decodeBound } from '../../consumers/iceberg/schema.js';
import { rng } from '../helpers/iceberg-flows.js';
import { tempDir } from '../helpers/process.js';

const DAY = 86_400_000;
const bytes = (s: string) => new TextEncoder().encode(s);

test('strings are interned by their bytes, from any buffer, and must be UTF-8', () => {
  const t = new StringTable();
  const a = bytes('xx10.0.0.1yy');
  const b = bytes('10.0.0.1');
  const first = t.intern(a, 2, 10);
  assert.equal(t.intern(b, 0, b.length), first);
  assert.notEqual(t.intern(bytes('10.0.0.2'), 0, 8), first);
  assert.equal(t.intern(bytes(''), 0, 0), 2);
  assert.deepEqual(t.values, ['10.0.0.1', '10.0.0.2', '']);
  // Enough distinct keys to make the table grow and rehash several times.
  const ids = Array.from({ length: 20_000 }, (_, i) => t.intern(bytes(`2001:db8::${i.toString(16)}`), 0, `2001:db8::${i.toString(16)}`.length));
  assert.deepEqual(ids, Array.from({ length: 20_000 }, (_, i) => 3 + i));
  assert.equal(t.values[3 + 0x2bad], '2001:db8::2bad');
  assert.equal(Buffer.from(t.bytesOf(3 + 0x2bad)).toString(), '2001:db8::2bad');
  assert.throws(() => t.intern(new Uint8Array([0x31, 0xc3, 0x28]), 0, 3), /not UTF-8/);
});

test('a message with a value the table cannot hold is refused, naming the record and field', () => {
  const ok = { ...emptyRecord(), timestamp: 1_700_000_000_000, src_ip: 'AAAA' };
  assert.throws(() => prepareFlows(toColumns({ records: [ok, { ...ok, bytes: 2 ** 60 }], collector_id: 't' }), new Interner()), /record 1: bytes .* out of range/);
  assert.throws(() => prepareFlows(toColumns({ records: [{ ...ok, flow_start: 1e16 }], collector_id: 't' }), new Interner()), /record 0: flow_start 10000000000000000 is not a time in milliseconds from 0 to 4294967295000/);
  // The hot tier's limits, so both tiers hold the same flows: no flow ends in the epoch's first second, none after 2106.
  assert.throws(() => prepareFlows(toColumns({ records: [ok, { ...ok, timestamp: 500 }], collector_id: 't' }), new Interner()), /record 1: timestamp 500 is not a time/);
  assert.throws(() => prepareFlows(toColumns({ records: [{ ...ok, time_received: 2 ** 32 * 1000 }], collector_id: 't' }), new Interner()), /record 0: time_received 4294967296000 is not a time/);
  // Invalid UTF-8 in place of "AAAA" (the encoder only writes valid strings).
  const payload = encodeBatch({ records: [ok, ok], collector_id: 't' });
  const at = Buffer.from(payload).lastIndexOf('AAAA');
  payload.set([0x41, 0xc3, 0x28, 0x41], at);
  assert.throws(() => prepareFlows(decodeFlowColumns(payload), new Interner()), /record 1: src_ip: .*not UTF-8/);
  const prepared = prepareFlows(toColumns({ records: [ok, ok], collector_id: 't' }), new Interner());
  assert.deepEqual([...prepared.ids[0]!], [0, 0]);
});

test('time order: by time, ties in arrival order, also when the span is too wide to pack', () => {
  assert.deepEqual([...timeOrder(new Float64Array([30, 10, 20, 10, 30, 5]))], [5, 1, 3, 2, 0, 4]);
  // 60 days apart: past the packed sort's 2^32 ms, so the comparator path.
  assert.deepEqual([...timeOrder(new Float64Array([60 * DAY, 1, 60 * DAY, 0, -DAY]))], [4, 3, 1, 0, 2]);
});

test('a batch out of time order over two days: one file per day, sorted by time, exact bounds', async () => {
  const dir = tempDir('iceberg-staging');
  const parquet = await ParquetWriter.open({ threads: 2 });
  const con = await (await DuckDBInstance.create(':memory:')).connect();
  try {
    const rand = rng(7);
    const day0 = Math.floor(1_750_000_000_000 / DAY);
    const names = ['10.0.0.1', '10.0.0.22', '2001:db8::1', 'zürich-édge', ''];
    const records: FlowRecord[] = Array.from({ length: 5000 }, () => {
      // Times over two days, shuffled; a few repeated exactly.
      const ts = (day0 + (rand() < 0.3 ? 1 : 0)) * DAY + Math.floor(rand() * 1000) * 86_400;
      return {
        ...emptyRecord(), timestamp: ts, flow_start: ts - Math.floor(rand() * 60_000), time_received: ts + 500,
        src_ip: names[Math.floor(rand() * names.length)]!, dst_ip: `192.0.2.${Math.floor(rand() * 256)}`, exporter: names[Math.floor(rand() * 2)]!,
        bytes: Math.floor(rand() * 2 ** 40), packets: 1 + Math.floor(rand() * 1000), src_port: Math.floor(rand() * 65536), src_as: 4_000_000_000 + Math.floor(rand() * 1000),
      };
    });
    const interner = new Interner();
    const parts = [0, 1, 2, 3, 4].map((k) => prepareFlows(toColumns({ records: records.slice(k * 1000, (k + 1) * 1000), collector_id: 't' }), interner));
    const files = await parquet.writeBatch(parts, (day) => join(dir.path, `${day}.parquet`));
    assert.deepEqual(files.map((f) => f.partitionDay), [day0, day0 + 1]);
    for (const f of files) {
      const mine = records.filter((r) => Math.floor(r.timestamp / DAY) === f.partitionDay);
      assert.equal(f.recordCount, mine.length);
      const rows = (await con.runAndReadAll(`SELECT epoch_ms(timestamp), epoch_ms(flow_start), src_ip, dst_ip, exporter, bytes, packets, src_port, src_as FROM read_parquet($1)`, [f.path])).getRows();
      const times = rows.map((r) => Number(r[0]));
      assert.ok(times.every((t, i) => i === 0 || times[i - 1]! <= t), 'rows in time order');
      const key = (r: unknown[]) => r.map(String).join('|');
      const want = mine.map((r) => key([r.timestamp, r.flow_start, r.src_ip, r.dst_ip, r.exporter, r.bytes, r.packets, r.src_port, r.src_as])).sort();
      assert.deepEqual(rows.map(key).sort(), want, 'the same rows');
      // Bounds: times in microseconds, strings by their UTF-8 bytes.
      const bound = (name: string, which: 'lowerBounds' | 'upperBounds') => {
        const c = COLUMNS.find((x) => x.name === name)!;
        return decodeBound(c.type, f[which].get(c.id)!);
      };
      const byBytes = (vals: string[]) => vals.map((v) => Buffer.from(v)).sort(Buffer.compare).map((b) => b.toString());
      const srcs = byBytes(mine.map((r) => r.src_ip));
      assert.equal(bound('src_ip', 'lowerBounds'), srcs[0]);
      assert.equal(bound('src_ip', 'upperBounds'), srcs[srcs.length - 1]);
      assert.equal(bound('timestamp', 'lowerBounds'), BigInt(Math.min(...times)) * 1000n);
      assert.equal(bound('timestamp', 'upperBounds'), BigInt(Math.max(...times)) * 1000n);
      assert.equal(bound('bytes', 'upperBounds'), BigInt(Math.max(...mine.map((r) => r.bytes))));
      assert.equal(bound('src_as', 'lowerBounds'), BigInt(Math.min(...mine.map((r) => r.src_as))));
    }
    // Plain UTF-8 string columns and the Iceberg field ids, as any reader sees them.
    const schema = (await con.runAndReadAll(`SELECT name, type, converted_type, field_id FROM parquet_schema($1) WHERE name IN ('src_ip', 'timestamp', 'src_as')`, [files[0]!.path])).getRows();
    assert.deepEqual(schema.map((r) => r.map(String)).sort(), [['src_as', 'INT64', 'INT_64', '15'], ['src_ip', 'BYTE_ARRAY', 'UTF8', '2'], ['timestamp', 'INT64', 'TIMESTAMP_MICROS', '1']]);
  } finally {
    con.closeSync();
    parquet.close();
    dir.remove();
  }
});
