// The writer against the Apache Iceberg REST catalog server (the Java
// reference implementation): it accepts the writer's table and commits, and
// pyiceberg reading through the server (and DuckDB on the metadata it names)
// sees exactly what was published, also after compaction and retention and
// when two writers commit at the same time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import type { FlowRecord } from '../../common/flow.js';
import { createLogger } from '../../common/log.js';
import { createRegistry } from '../../common/metrics.js';
import { RestCatalog } from '../../consumers/iceberg/catalog-rest.js';
import { loadParquetWriterConfig } from '../../consumers/iceberg/config.js';
import { localPath } from '../../consumers/iceberg/io.js';
import { ParquetWriter } from '../../consumers/iceberg/parquet.js';
import { applyRetention } from '../../consumers/iceberg/retention.js';
import { ParquetWriterService } from '../../consumers/iceberg/service.js';
import { loadTable } from '../../consumers/iceberg/table.js';
import { IcebergWriter } from '../../consumers/iceberg/writer.js';
import { makeFlows } from '../helpers/iceberg-flows.js';
import { readWithPeers, startRestCatalog, type RestCatalogServer } from '../helpers/iceberg-peers.js';
import { expectedView, publishFlows, streamMessage, writeConfig } from '../helpers/iceberg-writer.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { tempDir, waitFor } from '../helpers/process.js';

const log = createLogger('test', 'silent');
const DAY = 86_400_000;
const firstDay = Math.floor(Date.now() / DAY) - 40;
const midnight = (firstDay + 1) * DAY;
const records: FlowRecord[] = makeFlows(30_000, { seed: 11, startMs: midnight - 5 * 60_000, ratePerSecond: 50 });
const dayName = (d: number) => new Date(d * DAY).toISOString().slice(0, 10);

let rest: RestCatalogServer;
let nats: NatsServer;
let nc: NatsConnection;
let dir: ReturnType<typeof tempDir>;
let service: ParquetWriterService;
const TABLE = 'default.netflow';

before(async () => {
  rest = await startRestCatalog();
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  dir = tempDir('iceberg-rest-test');
  const cfg = loadParquetWriterConfig(writeConfig(dir.path, 'writer', { nats_url: nats.url, output_path: '', iceberg_catalog: rest.uri, iceberg_table: TABLE, batch_size: 8_000, compaction_min_files: 2, compaction_settle: '1m' }), { required: true });
  service = new ParquetWriterService(cfg, log);
  await service.start();
});

after(async () => {
  await service?.stop();
  await nc?.close();
  await nats?.destroy();
  await rest?.stop();
  dir?.remove();
});

const catalog = () => new RestCatalog(rest.uri, TABLE);

function assertSame(views: Awaited<ReturnType<typeof readWithPeers>>, sent: FlowRecord[]): void {
  const want = expectedView(sent);
  for (const [name, v] of Object.entries({ pyiceberg: views.pyiceberg, duckdb: views.duckdb! })) {
    assert.equal(v.rows, want.rows, `${name} rows`);
    assert.deepEqual(v.sums, want.sums, `${name} sums`);
    assert.deepEqual(v.time_sums, want.time_sums, `${name} time sums`);
    assert.deepEqual(v.per_day, want.per_day, `${name} per day`);
    assert.equal(v.distinct_keys, want.distinct_keys, `${name} distinct rows`);
  }
}

test('the REST catalog accepts the table and commits; pyiceberg through it agrees', async () => {
  await publishFlows(nc.jetstream(), records, 400);
  await waitFor('all records committed', async () => Number((await loadTable(catalog())).currentSnapshot?.summary['total-records'] ?? 0) >= records.length, 120_000, 250);
  const views = await readWithPeers({ rest: rest.uri, table: TABLE });
  assertSame(views, records);
  const py = views.pyiceberg;
  assert.equal(py.snapshot_ids.length, (await loadTable(catalog())).snapshots.length);
  assert.deepEqual(py.spec, [{ field_id: 1000, name: 'timestamp_day', transform: 'day', source_id: 1 }]);
  assert.ok(py.metadata_location.includes(rest.warehouse), 'the server wrote the metadata in its warehouse');
});

test('two writers committing at once: conflicts are retried, nothing lost or doubled', async () => {
  const registries = [createRegistry('a'), createRegistry('b')];
  const writers = await Promise.all(registries.map(async (registry) => {
    const parquet = await ParquetWriter.open({ threads: 1 });
    return { parquet, writer: new IcebergWriter({ catalog: catalog(), parquet, log, registry, source: 'test' }) };
  }));
  // Sequence numbers far above the stream's, so they cannot collide with it.
  const extra = makeFlows(6_000, { seed: 12, startMs: midnight + 3_600_000, ratePerSecond: 100 });
  for (let r = 0; r < 3; r++) {
    await Promise.all(writers.map((w, i) => w.writer.write([streamMessage(1_000_000 + r * 10 + i, extra.slice((r * 2 + i) * 1000, (r * 2 + i + 1) * 1000))])));
  }
  for (const w of writers) w.parquet.close();
  let conflicts = 0;
  for (const r of registries) conflicts += (await r.getSingleMetric('netflow_iceberg_commit_conflicts_total')!.get()).values[0]?.value ?? 0;
  const views = await readWithPeers({ rest: rest.uri, table: TABLE });
  assertSame(views, [...records, ...extra]);
  // Both started each round from the same snapshot: one of each pair had to retry.
  assert.ok(conflicts >= 1, `conflicts retried: ${conflicts}`);
  records.push(...extra);
});

test('compaction and retention through the REST catalog: readers agree, expired files gone', async () => {
  await service.compactOnce();
  const compacted = await readWithPeers({ rest: rest.uri, table: TABLE });
  assertSame(compacted, records);
  assert.equal(compacted.pyiceberg.operation, 'replace');
  assert.equal(compacted.pyiceberg.files.length, 2, 'one file per day');

  const before = await loadTable(catalog());
  const oldDayFiles = (await readWithPeers({ rest: rest.uri, table: TABLE, duckdb: false })).pyiceberg.files.filter((f) => f.includes(dayName(firstDay)));
  assert.equal(oldDayFiles.length, 1);
  const result = await applyRetention(catalog(), { retentionDays: 39, snapshotMaxAgeMs: 0, snapshotThinAfterMs: 0, orphanGraceMs: 0 }, log);
  assert.deepEqual(result.droppedDays, [dayName(firstDay)]);
  const kept = records.filter((r) => Math.floor(r.timestamp / DAY) === firstDay + 1);
  const views = await readWithPeers({ rest: rest.uri, table: TABLE });
  assertSame(views, kept);
  assert.equal(views.pyiceberg.operation, 'delete');
  assert.deepEqual(views.pyiceberg.snapshot_ids, [views.pyiceberg.snapshot_id], 'older snapshots expired');
  assert.ok(before.snapshots.length > 1);
  for (const f of oldDayFiles) assert.equal(existsSync(localPath(f)), false, `${f} deleted from disk`);
  assert.equal(existsSync(join(localPath(before.metadata.location), 'data', `timestamp_day=${dayName(firstDay)}`)), false);
});
