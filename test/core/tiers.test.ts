// The unified API over both real tiers: ClickHouse (embedded chDB) and DuckDB
// over the Iceberg table, both filled through the writers' own modules with
// the same generated records. Every query shape must give, from each tier,
// exactly the answer worked out by hand from the records (reference.ts); a
// range crossing the realtime threshold is stitched without gap or overlap.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/process.js';
import { makeRecords } from './records.js';
import { expected } from './reference.js';
import { shapes } from './shapes.js';
import { call, coreConfig, log, startCore, writeCold, writeHot, hotCount, TOKEN, USER } from './fixtures.js';
import { FsCatalog } from '../../consumers/iceberg/catalog-fs.js';
import { buildRollups, rollupCatalog } from '../../consumers/iceberg/rollup.js';
import { applyRetention } from '../../consumers/iceberg/retention.js';
import { liveEntries, loadTable } from '../../consumers/iceberg/table.js';
import type { CoreService } from '../../core-extension/service.js';

const HOUR = 3_600_000;
const NOW = Math.floor(Date.now() / 1000) * 1000;
// Not on minute boundaries, so rollups need raw edges.
const START = Math.floor((NOW - 36 * HOUR) / 60_000) * 60_000 + 17_000;
const END = NOW - 10 * 60_000 + 3_000;
const records = makeRecords(12_000, NOW - 40 * HOUR, NOW - 60_000);
const { SHAPES, url, want } = shapes(records, NOW, START, END);
// The cold table of the stitching test lacks the newest 2 hours (its writer's batch is still open).
const COLD_LAG = 2 * HOUR;

const dirs = { ch: tempDir('core-ch'), ice: tempDir('core-ice'), iceLagging: tempDir('core-ice-lag'), ui: tempDir('core-ui') };
// The cold table's rollups sit beside it (consumers/iceberg/rollup.ts).
const rollupDir = `${dirs.ice.path}-rollups`;
let core: CoreService;
let stitched: CoreService;

before(async () => {
  await writeHot({ clickhouse_url: '', clickhouse_data_dir: dirs.ch.path }, records);
  await writeCold(dirs.ice.path, records);
  // Every day before NOW's is closed: the cold tier answers those from rollups, today from the flows.
  const rolled = await buildRollups(new FsCatalog(dirs.ice.path), { settleMs: 0, now: NOW }, log);
  assert.ok(rolled.length >= 1, 'at least one closed day rolled up');
  await writeCold(dirs.iceLagging.path, records.filter((r) => r.timestamp < NOW - COLD_LAG));
  mkdirSync(join(dirs.ui.path, 'historical'), { recursive: true });
  writeFileSync(join(dirs.ui.path, 'index.html'), '<html>ui</html>');
  writeFileSync(join(dirs.ui.path, 'historical.html'), '<html>historical</html>');
  writeFileSync(join(dirs.ui.path, '404.html'), '<html>missing</html>');
  writeFileSync(join(dirs.ch.path, '..', 'srnf-secret.txt'), 'secret');
  core = await startCore(await coreConfig({ netflow: { clickhouse_data_dir: dirs.ch.path, iceberg_path: dirs.ice.path }, http: { ui_dir: dirs.ui.path } }));
  stitched = await startCore(await coreConfig({ netflow: { clickhouse_data_dir: dirs.ch.path, iceberg_path: dirs.iceLagging.path, realtime_threshold: 6 * HOUR } }));
});

after(async () => {
  await core?.stop();
  await stitched?.stop();
  for (const d of Object.values(dirs)) d.remove();
  rmSync(rollupDir, { recursive: true, force: true });
});

const get = (svc: CoreService, path: string) => call(svc.httpPort, 'GET', path, { token: TOKEN });

for (const shape of SHAPES) {
  test(`same answer from both tiers and from the records: ${shape.name}`, async () => {
    const hot = await get(core, url('/realtime', shape));
    const cold = await get(core, url('/historical', shape));
    assert.equal(hot.status, 200, hot.text);
    assert.equal(cold.status, 200, cold.text);
    assert.equal(hot.json().meta.backend, 'clickhouse');
    assert.equal(cold.json().meta.backend, 'iceberg');
    const expect = want(shape);
    assert.ok(expect.length > 0 && (expect as { flows: number }[]).some((r) => r.flows > 0), 'the shape selects some flows');
    assert.deepEqual(hot.json().results, expect, 'ClickHouse');
    assert.deepEqual(cold.json().results, expect, 'DuckDB over Iceberg');
  });
}

test('the hot tier answers from the coarse rollups where they fit (their answers are checked against the records above)', async () => {
  const tablesOf = async (params: string, start = START, end = END) => (await get(core, `/api/netflow/realtime?start=${start}&end=${end}&${params}`)).json().meta.tables as string[];
  assert.ok((await tablesOf('group_by=src_ip&limit=5')).includes('netflow.flows_1h_src_hosts'));
  assert.ok((await tablesOf('group_by=time&interval=30m&filter=ip=10.20.0.5')).includes('netflow.flows_1m_hosts'));
  assert.ok((await tablesOf('group_by=time&interval=1h')).includes('netflow.flows_1m_links'));
  // A whole UTC day inside the range is read from the daily rollup.
  const day = Math.floor((NOW - 26 * HOUR) / 86_400_000) * 86_400_000;
  // (The "other" row's total comes from the links rollup.)
  assert.deepEqual(await tablesOf('group_by=dst_port&limit=3', day, day + 86_400_000), ['netflow.flows_1d_dst_ports', 'netflow.flows_1m_links']);
  const r = await get(core, `/api/netflow/realtime?start=${day}&end=${day + 86_400_000}&group_by=dst_port&limit=3`);
  assert.deepEqual(r.json().results, expected(records, { startMs: day, endMs: day + 86_400_000, groupBy: ['dst_port'], limit: 3, filters: [], metric: 'bytes' }));
});

test('the cold tier answers closed days from its rollups (the answers above are checked against the records)', async () => {
  const tablesOf = async (params: string) => (await get(core, `/api/netflow/historical?start=${START}&end=${END}&${params}`)).json().meta.tables as string[];
  const top = await tablesOf('group_by=src_ip&limit=5');
  assert.ok(top.some((t) => t.startsWith('iceberg rollup src_hosts_')), top.join());
  assert.ok(top.includes('iceberg'), 'today (not closed) and the sub-hour edges from the flows');
  assert.ok((await tablesOf('group_by=time&interval=1h&filter=ip=10.20.0.5')).some((t) => t.startsWith('iceberg rollup hosts_1')));
  // Not in any rollup set: the flows answer the groups (the "other" row's total comes from the links set).
  assert.deepEqual(await tablesOf('group_by=src_as&limit=3'), ['iceberg', 'iceberg rollup links_1h']);
});

test('a day changed after its rollup was made is answered from the flows until the rollup pass redoes it', async () => {
  const dir = tempDir('core-ice-late');
  let late: CoreService | undefined;
  try {
    const day = Math.floor((NOW - 26 * HOUR) / 86_400_000) * 86_400_000;
    const base = makeRecords(3000, day, day + 86_400_000, 11);
    await writeCold(dir.path, base);
    assert.equal((await buildRollups(new FsCatalog(dir.path), { settleMs: 0, now: NOW }, log)).length, 1);
    // Late flows of that day arrive after its rollup.
    const extra = makeRecords(500, day, day + 86_400_000, 12);
    await writeCold(dir.path, extra, 2000, 1000);
    late = await startCore(await coreConfig({ netflow: { clickhouse_data_dir: dirs.ch.path, iceberg_path: dir.path } }));
    const path = `/api/netflow/historical?start=${day}&end=${day + 86_400_000}&group_by=dst_port&limit=4`;
    const want = expected([...base, ...extra], { startMs: day, endMs: day + 86_400_000, groupBy: ['dst_port'], limit: 4, filters: [], metric: 'bytes' });
    const stale = (await get(late, path)).json();
    assert.deepEqual(stale.meta.tables, ['iceberg'], 'the rollup no longer matches the day: not used');
    assert.deepEqual(stale.results, want);
    assert.equal((await buildRollups(new FsCatalog(dir.path), { settleMs: 0, now: NOW }, log)).length, 1, 'the changed day is redone');
    assert.equal((await buildRollups(new FsCatalog(dir.path), { settleMs: 0, now: NOW }, log)).length, 0, 'and only once');
    const fresh = (await get(late, path)).json();
    assert.deepEqual(fresh.meta.tables, ['iceberg rollup dst_ports_1d', 'iceberg rollup links_1h']);
    assert.deepEqual(fresh.results, want);
    // The replaced rollup files stay for queries planned before the rebuild; retention's sweep takes them.
    const rollups = rollupCatalog(new FsCatalog(dir.path))!;
    const live = async () => (await liveEntries((await loadTable(rollups)).currentSnapshot)).length;
    const onDisk = () => readdirSync(`${dir.path}-rollups`, { recursive: true }).filter((f) => String(f).endsWith('.parquet')).length;
    const kept = await live();
    assert.ok(onDisk() > kept, `the first rollup's files are still there (${onDisk()} on disk, ${kept} live)`);
    await applyRetention(rollups, { retentionDays: 36_500, snapshotMaxAgeMs: 0, snapshotThinAfterMs: 0, orphanGraceMs: 0, now: Date.now() + 1000 }, log);
    assert.equal(onDisk(), kept);
    assert.deepEqual((await get(late, path)).json().results, want);
  } finally {
    await late?.stop();
    dir.remove();
    rmSync(`${dir.path}-rollups`, { recursive: true, force: true });
  }
});

test('the unified route picks the tier by realtime_threshold', async () => {
  assert.equal((await get(stitched, '/api/netflow?time_range=last_1h')).json().meta.backend, 'clickhouse');
  // PRD 2.1.4: a range longer than the threshold goes to the historical tier (split with the newest part).
  assert.equal((await get(stitched, `/api/netflow?start=${NOW - 6 * HOUR - 30 * 60_000}&end=${NOW}`)).json().meta.backend, 'iceberg+clickhouse');
  const old = await get(stitched, `/api/netflow?start=${START}&end=${NOW - 30 * HOUR}`);
  // The whole range is older than anything Iceberg lacks: Iceberg alone.
  assert.equal(old.json().meta.backend, 'iceberg');
  assert.deepEqual(old.json().results, expected(records, { startMs: START, endMs: NOW - 30 * HOUR, groupBy: [], filters: [], metric: 'bytes' }));
});

test('a range across the threshold is split at a seam both tiers cover: equal to the records and to the sum of its parts', async () => {
  // 6 h threshold, Iceberg 2 h behind (its newest flow, less a minute's margin):
  // the seam is a midnight in that window, else its first whole hour.
  const coldBefore = Math.max(...records.filter((r) => r.timestamp < NOW - COLD_LAG).map((r) => r.timestamp)) - 60_000;
  for (const shape of SHAPES.filter((s) => !s.start)) {
    const hotFrom = Math.floor(Date.now() / 1000) * 1000 - 6 * HOUR;
    const res = await get(stitched, url('', shape));
    assert.equal(res.status, 200, res.text);
    const meta = res.json().meta;
    assert.equal(meta.backend, 'iceberg+clickhouse', shape.name);
    const boundary = Date.parse(meta.boundary);
    // The planner's now is a little later than hotFrom's: the hour may turn meanwhile.
    const hotFromAfter = Math.floor(Date.now() / 1000) * 1000 - 6 * HOUR;
    const midnight = Math.floor(coldBefore / (24 * HOUR)) * 24 * HOUR;
    const allowed = midnight >= hotFromAfter ? [midnight] : midnight >= hotFrom ? [midnight, Math.ceil(hotFromAfter / HOUR) * HOUR] : [Math.ceil(hotFrom / HOUR) * HOUR, Math.ceil(hotFromAfter / HOUR) * HOUR];
    assert.ok(allowed.includes(boundary), `boundary ${meta.boundary}, allowed ${allowed.map((t) => new Date(t).toISOString())}`);
    assert.deepEqual(res.json().results, want(shape), shape.name);
  }
  const total = (await get(stitched, `/api/netflow?start=${START}&end=${END}`)).json();
  const boundary = Date.parse(total.meta.boundary);
  const cold = (await get(stitched, `/api/netflow/historical?start=${START}&end=${boundary}`)).json().results[0];
  const hot = (await get(stitched, `/api/netflow/realtime?start=${boundary}&end=${END}`)).json().results[0];
  const whole = total.results[0];
  assert.deepEqual(whole, { bytes: cold.bytes + hot.bytes, packets: cold.packets + hot.packets, flows: cold.flows + hot.flows });
  assert.equal(whole.flows, records.filter((r) => r.timestamp >= START && r.timestamp < END).length);
});

test('with the default 2 d threshold, three days are split at the open day\'s midnight: closed days from Iceberg, today from ClickHouse', async () => {
  // Up to NOW: Iceberg's newest flow is a minute before it, so the seam is inside the range.
  const from = NOW - 72 * HOUR;
  for (const shape of SHAPES.filter((s) => !s.start)) {
    const res = await get(core, url('', { ...shape, start: from, end: NOW }));
    assert.equal(res.status, 200, res.text);
    const meta = res.json().meta;
    assert.equal(meta.backend, 'iceberg+clickhouse', shape.name);
    // In the first minutes of a UTC day Iceberg does not hold today yet: yesterday's midnight then.
    const today = Math.floor(NOW / (24 * HOUR)) * 24 * HOUR;
    assert.ok([today, today - 24 * HOUR].includes(Date.parse(meta.boundary)), `boundary ${meta.boundary}`);
    assert.deepEqual(res.json().results, expected(records, { startMs: from, endMs: NOW, filters: [], metric: 'bytes', ...shape.ref }), shape.name);
  }
});

test('401 without credentials, with a wrong password or unknown user (no reason given), and after logout', async () => {
  const port = core.httpPort;
  for (const path of ['/api/netflow', '/api/netflow/realtime', '/api/netflow/historical', '/api/netflow/status', '/api/netflow/openapi.json']) {
    const r = await call(port, 'GET', path);
    assert.equal(r.status, 401, path);
    assert.deepEqual(r.json(), { error: 'authentication required' });
  }
  assert.equal((await call(port, 'GET', '/api/netflow', { token: 'not-the-token' })).status, 401);
  const wrongPassword = await call(port, 'POST', '/api/login', { body: { username: USER.username, password: 'wrong' } });
  const unknownUser = await call(port, 'POST', '/api/login', { body: { username: 'mallory', password: USER.password } });
  for (const r of [wrongPassword, unknownUser]) {
    assert.equal(r.status, 401);
    assert.equal(r.text, '{"error":"invalid credentials"}');
    assert.equal(r.headers['set-cookie'], undefined);
  }
  const ok = await call(port, 'POST', '/api/login', { body: USER });
  assert.equal(ok.status, 200);
  assert.equal(ok.json().username, USER.username);
  const setCookie = String(ok.headers['set-cookie']);
  assert.match(setCookie, /^srnf_session=[A-Za-z0-9_-]{40,}; HttpOnly; SameSite=Strict; Path=\//);
  const cookie = setCookie.split(';')[0]!;
  assert.equal((await call(port, 'GET', '/api/session', { cookie })).status, 200);
  assert.equal((await call(port, 'GET', '/api/netflow?group_by=src_ip', { cookie })).status, 200);
  assert.equal((await call(port, 'POST', '/api/logout', { cookie })).status, 204);
  assert.equal((await call(port, 'GET', '/api/netflow', { cookie })).status, 401);
  assert.equal((await call(port, 'GET', '/api/session', { cookie })).status, 401);
});

test('injection strings in every parameter: 400 naming the parameter, both tiers unchanged', async () => {
  const before = await counts();
  const evil = ["1' OR '1'='1", "x'); DROP TABLE flows; --", '1; SELECT * FROM system.users', '`bytes`', '../../etc/passwd', '%00', '$(reboot)', '1 UNION ALL SELECT 1', "src_ip=1.1.1.1' --", '\\\'', '{param:String}', '10.0.0.0/8) OR (1=1'];
  const params = ['time_range', 'start', 'end', 'group_by', 'interval', 'filter', 'metric', 'limit', 'order', 'as_of', 'format'];
  for (const p of params) {
    for (const e of evil) {
      const extra = p === 'interval' || p === 'limit' ? `&group_by=${p === 'interval' ? 'time' : 'src_ip'}` : p === 'end' ? `&start=${START}` : '';
      for (const value of [e, `src_ip=${e}`, `dst_port=${e}`]) {
        if (p !== 'filter' && value !== e) continue;
        const r = await get(core, `/api/netflow?${p}=${encodeURIComponent(value)}${extra}`);
        assert.equal(r.status, 400, `${p}=${value}: ${r.text}`);
        assert.equal(r.json().parameter, p, `${p}=${value}`);
        assert.doesNotMatch(r.text, /at .*\.js|Error:|stack/i);
      }
    }
  }
  assert.equal((await get(core, '/api/netflow?sql=SELECT%201')).json().parameter, 'sql');
  assert.deepEqual(await counts(), before);
});

async function counts() {
  const hot = await hotCount({ clickhouse_url: '', clickhouse_data_dir: dirs.ch.path });
  const cold = (await get(core, `/api/netflow/historical?start=${NOW - 30 * 24 * HOUR}&end=${NOW + HOUR}`)).json();
  return { hot, coldFlows: cold.results[0].flows, snapshot: cold.meta.snapshot_id };
}

test('bad parameters are 400 with the parameter and the reason; CSV is streamed with the same rows', async () => {
  const r = await get(core, '/api/netflow?group_by=src_ip&limit=0');
  assert.equal(r.status, 400);
  assert.deepEqual(r.json(), { error: 'limit: must be an integer 1-10000', parameter: 'limit' });
  const shape = SHAPES[4]!;
  const csv = await get(core, `${url('/historical', shape)}&format=csv`);
  assert.equal(csv.status, 200);
  assert.match(String(csv.headers['content-type']), /^text\/csv/);
  assert.match(String(csv.headers['content-disposition']), /attachment/);
  const lines = csv.text.trimEnd().split('\r\n');
  assert.equal(lines[0], 'protocol,timestamp,bytes,packets,flows,other');
  const rows = want(shape);
  assert.equal(lines.length, rows.length + 1);
  const first = rows[0] as Record<string, unknown>;
  assert.equal(lines[1], `${first.protocol},${first.timestamp},${first.bytes},${first.packets},${first.flows},`);
});

test('time travel: as_of a snapshot id answers from that snapshot', async () => {
  const now = (await get(core, `/api/netflow/historical?start=${START}&end=${NOW}`)).json();
  const snap = now.meta.snapshot_id;
  assert.match(snap, /^\d+$/);
  const same = (await get(core, `/api/netflow?start=${START}&end=${NOW}&as_of=${snap}`)).json();
  assert.equal(same.meta.backend, 'iceberg');
  assert.deepEqual(same.results, now.results);
  // Before the first commit there is nothing to travel to.
  const early = await get(core, `/api/netflow?start=${START}&end=${NOW}&as_of=2000-01-01T00:00:00Z`);
  assert.equal(early.status, 400);
  assert.equal(early.json().parameter, 'as_of');
  const missing = await get(core, `/api/netflow?start=${START}&end=${NOW}&as_of=12345`);
  assert.equal(missing.status, 400);
});

test('UI files are served, and nothing outside the UI folder', async () => {
  const port = core.httpPort;
  assert.equal((await call(port, 'GET', '/')).text, '<html>ui</html>');
  assert.equal((await call(port, 'GET', '/historical')).text, '<html>historical</html>');
  const missing = await call(port, 'GET', '/nope');
  assert.equal(missing.status, 404);
  for (const p of ['/../srnf-secret.txt', '/%2e%2e/srnf-secret.txt', '/..%2fsrnf-secret.txt', '/%2e%2e%2f%2e%2e%2fetc%2fpasswd', '/....//etc/passwd', '/%00index.html', '/..\\srnf-secret.txt']) {
    const r = await call(port, 'GET', p);
    assert.ok(r.status === 404 || r.status === 400, `${p}: ${r.status}`);
    assert.doesNotMatch(r.text, /secret|root:/, p);
  }
  const metrics = await call(port, 'GET', '/metrics');
  assert.equal(metrics.status, 200);
  assert.match(metrics.text, /netflow_core_http_requests_total/);
});

test('a query that runs past query_timeout gets a clear 504', async () => {
  const slow = await startCore(await coreConfig({ netflow: { clickhouse_data_dir: dirs.ch.path, iceberg_path: dirs.ice.path, query_timeout: 1 } }));
  try {
    const r = await get(slow, `/api/netflow/historical?start=${START}&end=${END}&group_by=src_ip,dst_ip,src_port`);
    assert.equal(r.status, 504);
    assert.match(r.json().error, /query took longer than 0.001 s \(query_timeout\)/);
  } finally {
    await slow.stop();
  }
});

test('queries run side by side: many at once all answer, each correctly', async () => {
  const shapes = SHAPES.slice(0, 8);
  const replies = await Promise.all(shapes.flatMap((s) => [get(core, url('/realtime', s)), get(core, url('/historical', s))]));
  replies.forEach((r, i) => assert.deepEqual(r.json().results, want(shapes[Math.floor(i / 2)]!)));
});

test('the OpenAPI document describes every route and every query parameter the parser accepts', async () => {
  const doc = (await get(core, '/api/netflow/openapi.json')).json();
  assert.equal(doc.openapi, '3.0.3');
  for (const p of ['/api/login', '/api/logout', '/api/session', '/api/netflow', '/api/netflow/realtime', '/api/netflow/historical', '/api/netflow/status', '/api/netflow/openapi.json', '/metrics']) assert.ok(doc.paths[p], p);
  const names = doc.paths['/api/netflow'].get.parameters.map((p: { name: string }) => p.name).sort();
  assert.deepEqual(names, ['as_of', 'end', 'filter', 'format', 'group_by', 'interval', 'limit', 'metric', 'order', 'start', 'time_range']);
  // Every documented parameter is one the parser knows (an unknown one is refused as such).
  for (const n of names) assert.doesNotMatch((await get(core, `/api/netflow?${n}=x`)).text, /unknown parameter/, n);
});
