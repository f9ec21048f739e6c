// A hot tier made by the previous schema (migrations 1-2, flows already
// stored) upgraded by the writer's migrate(): the coarse rollups come filled
// from the stored flows, and the API's answers from them equal the answers
// worked out from the records.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { toColumns } from '../../common/flow.js';
import { openEngine, type ClickHouseEngine } from '../../consumers/clickhouse/engine.js';
import { migrate } from '../../consumers/clickhouse/migrate.js';
import { encodeMessage } from '../../consumers/clickhouse/rows.js';
import { createMigrationsTable, INGEST_TABLE, MIGRATIONS, MIGRATIONS_TABLE, PAYLOAD_COLUMNS, tableRef } from '../../consumers/clickhouse/schema.js';
import type { CoreService } from '../../core-extension/service.js';
import { tempDir } from '../helpers/process.js';
import { call, coreConfig, log, startCore, TOKEN } from './fixtures.js';
import { makeRecords } from './records.js';
import { expected } from './reference.js';

const DB = 'netflow';
const DAY = 86_400_000;
const END = Math.floor(Date.now() / DAY) * DAY;
const START = END - 2 * DAY;
const records = makeRecords(6000, START, END, 21);
const dir = tempDir('core-upgrade');
let core: CoreService;

before(async () => {
  const engine: ClickHouseEngine = await openEngine({ clickhouse_url: '', clickhouse_data_dir: dir.path });
  try {
    // The database as the previous release left it: migrations 1 and 2, and flows in it.
    const ctx = { database: DB, caps: engine.capabilities, retentionMs: 30 * DAY };
    for (const sql of createMigrationsTable(DB)) await engine.exec(sql);
    for (const m of MIGRATIONS.filter((x) => x.version <= 2)) {
      for (const sql of m.statements(ctx)) await engine.exec(sql);
      await engine.insert(tableRef(DB, MIGRATIONS_TABLE), [{ version: m.version, description: m.description, applied_at: Math.floor(Date.now() / 1000) }]);
    }
    const exists = async (t: string) => (await engine.query<{ n: string }>(`SELECT count() AS n FROM system.tables WHERE database = '${DB}' AND name = '${t}'`))[0]!.n !== '0';
    assert.equal(await exists('flows_1d_src_hosts'), false, 'the old schema has no daily rollups');
    for (const chunk of encodeMessage(toColumns({ records, collector_id: 'test' })).chunks) {
      await engine.insert(tableRef(DB, INGEST_TABLE), { format: 'TabSeparated', columns: PAYLOAD_COLUMNS, data: chunk.data });
    }
    assert.equal(await migrate(engine, DB, 30 * DAY, log), MIGRATIONS.at(-1)!.version);
    assert.equal(await exists('flows_1d_src_hosts'), true);
  } finally {
    await engine.close();
  }
  core = await startCore(await coreConfig({ netflow: { clickhouse_data_dir: dir.path, iceberg_path: `${dir.path}-none` } }));
});

after(async () => {
  await core?.stop();
  dir.remove();
});

const get = async (params: string) => (await call(core.httpPort, 'GET', `/api/netflow/realtime?start=${START}&end=${END}&${params}`, { token: TOKEN })).json();

test('after the upgrade, the daily rollups hold the flows stored before it', async () => {
  const r = await get('group_by=src_ip&limit=4');
  assert.ok(r.meta.tables.includes('netflow.flows_1d_src_hosts'), r.meta.tables.join());
  assert.deepEqual(r.results, expected(records, { startMs: START, endMs: END, groupBy: ['src_ip'], limit: 4, filters: [], metric: 'bytes' }));
});

test('after the upgrade, one address on either side comes from the host rollup, each flow once', async () => {
  const r = await get('group_by=time&interval=1h&filter=ip=10.20.0.5');
  assert.deepEqual(r.meta.tables, ['netflow.flows_1m_hosts']);
  assert.deepEqual(r.results, expected(records, { startMs: START, endMs: END, groupBy: [], interval: 3600, filters: [['ip', ['10.20.0.5']]], metric: 'bytes' }));
});
