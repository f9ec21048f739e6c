// The table the parquet-writer produces (filesystem catalog), read by
// independent implementations: pyiceberg and DuckDB's iceberg extension must
// see the schema, partitions, rows and sums of exactly what was published,
// before and after compaction and retention.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { DuckDBInstance } from '@duckdb/node-api';
import { RECORD_FIELDS, type FlowRecord } from '../../common/flow.js';
import { createLogger } from '../../common/log.js';
import { FsCatalog } from '../../consumers/iceberg/catalog-fs.js';
import { loadParquetWriterConfig } from '../../consumers/iceberg/config.js';
import { applyRetention } from '../../consumers/iceberg/retention.js';
import { ParquetWriterService } from '../../consumers/iceberg/service.js';
import { loadTable, planFiles, snapshotAt } from '../../consumers/iceberg/table.js';
import { makeFlows } from '../helpers/iceberg-flows.js';
import { readWithPeers } from '../helpers/iceberg-peers.js';
import { expectedView, publishFlows, writeConfig } from '../helpers/iceberg-writer.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { tempDir, waitFor } from '../helpers/process.js';

const log = createLogger('test', 'silent');
const DAY = 86_400_000;
// Two days of flows around a midnight 95 days ago, so retention can drop the
// first day (retention_days 94) and keep the second.
const firstDay = Math.floor(Date.now() / DAY) - 95;
const midnight = (firstDay + 1) * DAY;
const records: FlowRecord[] = makeFlows(60_000, { seed: 7, startMs: midnight - 10 * 60_000, ratePerSecond: 50 });
const dayName = (d: number) => new Date(d * DAY).toISOString().slice(0, 10);

let nats: NatsServer;
let nc: NatsConnection;
let dir: ReturnType<typeof tempDir>;
let service: ParquetWriterService;
let tablePath: string;

before(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  dir = tempDir('iceberg-readers');
  tablePath = join(dir.path, 'netflow');
  const cfg = loadParquetWriterConfig(writeConfig(dir.path, 'writer', { nats_url: nats.url, output_path: tablePath, batch_size: 15_000, compaction_min_files: 2, compaction_settle: '1m' }), { required: true });
  service = new ParquetWriterService(cfg, log);
  await service.start();
});

after(async () => {
  await service?.stop();
  await nc?.close();
  await nats?.destroy();
  dir?.remove();
});

const catalog = () => new FsCatalog(tablePath);
const samples = () => [0, 1, 777, 15_001, 29_999, 30_000, 44_444, 59_999].map((i) => records[i]!);
const sampleKeys = () => samples().map((r) => ({ timestamp: r.timestamp, src_ip: r.src_ip, src_port: r.src_port }));
/** The rows a sample key must match, worked out from what was sent. */
const expectedSample = (set: FlowRecord[], k: { timestamp: number; src_ip: string; src_port: number }) =>
  sortRows(set.filter((r) => r.timestamp === k.timestamp && r.src_ip === k.src_ip && r.src_port === k.src_port).map((r) => ({ ...r })));
const sortRows = (rows: Record<string, unknown>[]) => [...rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

function filesOnDisk(): string[] {
  const out: string[] = [];
  const walk = (d: string) => { for (const n of readdirSync(d)) { const p = join(d, n); if (statSync(p).isDirectory()) walk(p); else out.push(p); } };
  if (existsSync(join(tablePath, 'data'))) walk(join(tablePath, 'data'));
  return out.sort();
}

test('pyiceberg and DuckDB read exactly what was published', async () => {
  const js = nc.jetstream();
  await publishFlows(js, records, 500);
  await waitFor('all records committed', async () => Number((await loadTable(catalog())).currentSnapshot?.summary['total-records'] ?? 0) >= records.length, 120_000, 250);

  const ranges: [number, number][] = [[midnight - 5 * 60_000, midnight + 5 * 60_000], [midnight + 60_000, midnight + 120_000]];
  const views = await readWithPeers({ static: tablePath, samples: sampleKeys(), ranges });
  const want = expectedView(records);
  for (const [name, v] of Object.entries({ pyiceberg: views.pyiceberg, duckdb: views.duckdb! })) {
    assert.equal(v.rows, want.rows, `${name} rows`);
    assert.deepEqual(v.sums, want.sums, `${name} sums`);
    assert.deepEqual(v.time_sums, want.time_sums, `${name} time sums`);
    assert.deepEqual(v.per_day, want.per_day, `${name} rows per day`);
    assert.equal(v.distinct_keys, want.distinct_keys, `${name}: no duplicated rows`);
    sampleKeys().forEach((k, i) => assert.deepEqual(sortRows(v.samples[i]!), expectedSample(records, k), `${name} sample ${i}`));
  }
  const inRange = ([lo, hi]: [number, number]) => records.filter((r) => r.timestamp >= lo && r.timestamp < hi).length;
  assert.deepEqual(views.duckdb!.ranges, ranges.map(inRange));
  assert.deepEqual(views.pyiceberg.ranges.map((r) => r.rows), ranges.map(inRange));

  const py = views.pyiceberg;
  assert.equal(py.format_version, 2);
  // Field ids are the proto field numbers, read from the proto's own field table.
  assert.deepEqual(py.schema.map((f) => [f.id, f.name]), RECORD_FIELDS.map((f) => [f.id, f.name]));
  assert.ok(py.schema.every((f) => f.required));
  assert.deepEqual(py.schema.filter((f) => f.type === 'timestamptz').map((f) => f.name), ['timestamp', 'flow_start', 'time_received']);
  assert.deepEqual(py.spec, [{ field_id: 1000, name: 'timestamp_day', transform: 'day', source_id: 1 }]);
  assert.deepEqual(py.file_partitions, [firstDay, firstDay + 1]);
  // Byte sums: the manifests' file sizes are the sizes on disk.
  assert.deepEqual(py.files.map((f) => f.replace(/^file:/, '')), filesOnDisk());
  assert.equal(py.file_bytes, filesOnDisk().reduce((n, f) => n + statSync(f).size, 0));

  // planFiles prunes by day and bounds, and never drops a file with matching rows:
  // DuckDB over just the planned files counts what was sent in the range.
  const table = await loadTable(catalog());
  const duck = await (await DuckDBInstance.create(':memory:')).connect();
  for (const [lo, hi] of ranges) {
    const planned = await planFiles(table.currentSnapshot, { fromMs: lo, toMs: hi });
    assert.ok(planned.length < py.files.length, 'some files are pruned');
    const list = planned.map((f) => `'${f.localPath}'`).join(', ');
    const n = (await duck.runAndReadAll(`SELECT count(*) FROM read_parquet([${list}]) WHERE epoch_ms(timestamp) >= ${lo} AND epoch_ms(timestamp) < ${hi}`)).getRows()[0]![0];
    assert.equal(Number(n), inRange([lo, hi]));
  }
  const secondDayOnly = await planFiles(table.currentSnapshot, { fromMs: midnight + 60_000, toMs: midnight + 120_000 });
  assert.ok(secondDayOnly.every((f) => f.partitionDay === firstDay + 1));
  duck.closeSync();
});

test('after compaction every reader still agrees, with fewer files, and time travel reaches the old files', async () => {
  const before = await loadTable(catalog());
  const filesBefore = (await readWithPeers({ static: tablePath, duckdb: false })).pyiceberg.files.length;
  await service.compactOnce();
  const views = await readWithPeers({ static: tablePath, samples: sampleKeys() });
  const want = expectedView(records);
  for (const [name, v] of Object.entries({ pyiceberg: views.pyiceberg, duckdb: views.duckdb! })) {
    assert.equal(v.rows, want.rows, `${name} rows`);
    assert.deepEqual(v.sums, want.sums, `${name} sums`);
    assert.deepEqual(v.per_day, want.per_day, `${name} per day`);
    assert.equal(v.distinct_keys, want.distinct_keys, `${name} distinct`);
    sampleKeys().forEach((k, i) => assert.deepEqual(sortRows(v.samples[i]!), expectedSample(records, k), `${name} sample ${i}`));
  }
  assert.equal(views.pyiceberg.operation, 'replace');
  assert.equal(views.pyiceberg.files.length, 2, 'one file per day');
  assert.ok(filesBefore > 2);
  const after = await loadTable(catalog());
  const old = snapshotAt(after, before.currentSnapshot!['snapshot-id']);
  assert.ok(old);
  // As of a time: the snapshot current then (the one before compaction), and the newest now.
  assert.equal(snapshotAt(after, new Date(old['timestamp-ms']).toISOString())?.['snapshot-id'], old['snapshot-id']);
  assert.equal(snapshotAt(after, new Date())?.['snapshot-id'], after.currentSnapshot!['snapshot-id']);
  assert.equal(snapshotAt(after, '2000-01-01T00:00:00Z'), undefined);
  const travelled = await readWithPeers({ static: tablePath, snapshot_id: old['snapshot-id'] });
  assert.equal(travelled.pyiceberg.files.length, filesBefore);
  assert.equal(travelled.pyiceberg.rows, records.length);
  assert.equal(travelled.duckdb!.rows, records.length);
});

test('retention removes the expired day from every reader and from disk', async () => {
  const result = await applyRetention(catalog(), { retentionDays: 94, snapshotMaxAgeMs: 0, snapshotThinAfterMs: 0, orphanGraceMs: 0 }, log);
  assert.deepEqual(result.droppedDays, [dayName(firstDay)]);
  const kept = records.filter((r) => Math.floor(r.timestamp / DAY) === firstDay + 1);
  const views = await readWithPeers({ static: tablePath, samples: sampleKeys() });
  const want = expectedView(kept);
  for (const [name, v] of Object.entries({ pyiceberg: views.pyiceberg, duckdb: views.duckdb! })) {
    assert.equal(v.rows, want.rows, `${name} rows`);
    assert.deepEqual(v.sums, want.sums, `${name} sums`);
    assert.deepEqual(v.per_day, want.per_day, `${name} per day`);
    sampleKeys().forEach((k, i) => assert.deepEqual(sortRows(v.samples[i]!), expectedSample(kept, k), `${name} sample ${i}`));
  }
  assert.equal(views.pyiceberg.operation, 'delete');
  assert.deepEqual(views.pyiceberg.snapshot_ids, [views.pyiceberg.snapshot_id], 'older snapshots expired');
  assert.equal(existsSync(join(tablePath, 'data', `timestamp_day=${dayName(firstDay)}`)), false, 'expired partition folder gone');
  assert.deepEqual(views.pyiceberg.files.map((f) => f.replace(/^file:/, '')), filesOnDisk(), 'only referenced data files remain');
});
