// The hot tier's SQL on Debian's clickhouse-server 18.16 (no query
// parameters, no toStartOfInterval, no DateTime64), running in Asia/Tokyo so
// nothing may lean on the server's zone: every query shape answers exactly what
// the records say, as it does on chDB's modern engine.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startClickHouseServer, type ClickHouseServer } from '../helpers/clickhouse-server.js';
import { tempDir } from '../helpers/process.js';
import { makeRecords } from './records.js';
import { shapes } from './shapes.js';
import { call, coreConfig, startCore, writeHot, TOKEN } from './fixtures.js';
import type { CoreService } from '../../core-extension/service.js';

const HOUR = 3_600_000;
const NOW = Math.floor(Date.now() / 1000) * 1000;
const START = Math.floor((NOW - 36 * HOUR) / 60_000) * 60_000 + 17_000;
const END = NOW - 10 * 60_000 + 3_000;
const records = makeRecords(6_000, NOW - 40 * HOUR, NOW - 60_000, 11);
const { SHAPES, url, want } = shapes(records, NOW, START, END);

let server: ClickHouseServer;
let core: CoreService;
const ice = tempDir('core-ch-ice');

before(async () => {
  server = await startClickHouseServer();
  const engine = { clickhouse_url: server.url, clickhouse_user: server.user, clickhouse_password: server.password };
  await writeHot(engine, records);
  core = await startCore(await coreConfig({ netflow: { ...engine, iceberg_path: ice.path } }));
});

after(async () => {
  await core?.stop();
  await server?.destroy();
  ice.remove();
});

for (const shape of SHAPES) {
  test(`clickhouse-server 18.16: ${shape.name}`, async () => {
    const r = await call(core.httpPort, 'GET', url('/realtime', shape), { token: TOKEN });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json().results, want(shape));
  });
}
