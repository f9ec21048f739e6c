// The schema on each engine: versioned, idempotent migrations adapted to the
// engine's capabilities; the property exactly-once rests on (one INSERT of one
// partition becomes one part in every table, even when the payload is larger
// than the parser's chunks); and the SQL helpers the query planner uses.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { toColumns } from '../../common/flow.js';
import { createRegistry } from '../../common/metrics.js';
import { capabilitiesOf } from '../../consumers/clickhouse/engine.js';
import { migrate } from '../../consumers/clickhouse/migrate.js';
import { encodeMessage } from '../../consumers/clickhouse/rows.js';
import { assertIdentifier, createMigrationsTable, ipHex, ipLiteral, ipRange, MIGRATIONS, pickTable, RAW, ROLLUPS, tableRef, timeBucket, timeLiteral } from '../../consumers/clickhouse/schema.js';
import { ClickHouseWriter } from '../../consumers/clickhouse/writer.js';
import { DATA_TABLE_NAMES, ENGINE_KINDS, ENGINE_NAMES, freshDatabase, log, makeFlows, startEngine, tableTotals, totals, type EngineEnv } from './harness.js';

const DAY = 86_400_000;

test('capabilities follow the version', () => {
  assert.deepEqual(capabilitiesOf('18.16.1'), { ttl: false, ipv6Type: false, lowCardinality: false, codecs: false, toStartOfInterval: false, queryParameters: false, optimizeOnInsert: false });
  assert.deepEqual(capabilitiesOf('26.7.2.1'), { ttl: true, ipv6Type: true, lowCardinality: true, codecs: true, toStartOfInterval: true, queryParameters: true, optimizeOnInsert: true });
  assert.equal(capabilitiesOf('19.16.3').ttl, false);
  assert.equal(capabilitiesOf('20.3.1').ttl, true);
});

test('the planner picks the cheapest table that has every dimension', () => {
  assert.equal(pickTable(['protocol'], 60).name, 'flows_1m_interfaces');
  assert.equal(pickTable(['dst_port'], 300).name, 'flows_1m_dst_ports');
  assert.equal(pickTable(['src_ip'], null).name, 'flows_1m_src_hosts');
  assert.equal(pickTable(['src_ip', 'dst_ip'], null).name, RAW.name, 'address pairs only in the flows table');
  assert.equal(pickTable(['src_ip', 'dst_port'], 60).name, RAW.name);
  assert.equal(pickTable(['protocol'], 30).name, RAW.name, 'a 30 s bucket is finer than the rollups');
});

test('identifiers and addresses are the only things rendered into SQL', () => {
  assert.throws(() => tableRef('netflow; DROP TABLE x', 'flows'), /database/);
  assert.throws(() => assertIdentifier('1abc'), /letters/);
  assert.throws(() => ipRange('bytes', new Uint8Array(16), new Uint8Array(16)), /not an IP column/);
  assert.throws(() => ipLiteral(new Uint8Array(4)), /16 bytes/);
  assert.equal(ipLiteral(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 10, 0, 0, 1])), "toFixedString(unhex('00000000000000000000ffff0a000001'), 16)");
  assert.throws(() => timeBucket('timestamp) --', 60), /column/);
});

/** 16 bytes: IPv4-mapped a.b.c.d (hand written, not our parser). */
const v4 = (a: number, b: number, c: number, d: number) => Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, a, b, c, d]);

for (const kind of ENGINE_KINDS) {
  describe(`schema on ${ENGINE_NAMES[kind]}`, () => {
    let env: EngineEnv;
    before(async () => { env = await startEngine(kind); });
    after(async () => { await env.close(); });

    test('migrations are versioned and idempotent, and use what the engine has', async () => {
      const db = freshDatabase();
      assert.equal(await migrate(env.engine, db, 2 * DAY, log), MIGRATIONS.at(-1)!.version);
      const tables = await env.engine.query<{ name: string }>(`SELECT name FROM system.tables WHERE database = '${db}' ORDER BY name`);
      assert.equal(await migrate(env.engine, db, 2 * DAY, log), MIGRATIONS.at(-1)!.version);
      assert.deepEqual(await env.engine.query(`SELECT name FROM system.tables WHERE database = '${db}' ORDER BY name`), tables);
      const versions = await env.engine.query<{ version: number; n: string }>(`SELECT version, count() AS n FROM ${db}.schema_migrations GROUP BY version ORDER BY version`);
      assert.deepEqual(versions.map((v) => [Number(v.version), Number(v.n)]), MIGRATIONS.map((m) => [m.version, 1]));
      for (const t of [RAW.name, ...ROLLUPS.map((r) => r.name), 'flows_ingest', ...ROLLUPS.map((r) => r.feed)]) assert.ok(tables.some((x) => x.name === t), t);
      const [ddl] = await env.engine.query<{ statement: string }>(`SHOW CREATE TABLE ${db}.flows`);
      const modern = env.engine.capabilities.codecs;
      assert.equal(/CODEC\(T64, ZSTD\(3\)\)/.test(ddl!.statement), modern, 'codecs exactly where supported');
      assert.equal(/LowCardinality\(String\)/.test(ddl!.statement), env.engine.capabilities.lowCardinality);
      assert.equal(/TTL timestamp/.test(ddl!.statement), env.engine.capabilities.ttl);
    });

    test('an existing version-1 database is migrated to the newest, its flows carried into the new rollups', async () => {
      const db = freshDatabase();
      const ctx = { database: db, caps: env.engine.capabilities, retentionMs: 30 * DAY };
      for (const sql of [...createMigrationsTable(db), ...MIGRATIONS[0]!.statements(ctx)]) await env.engine.exec(sql);
      await env.engine.insert(`${db}.schema_migrations`, [{ version: 1, description: MIGRATIONS[0]!.description, applied_at: Math.floor(Date.now() / 1000) }]);
      const records = makeFlows(5000, { seed: 31, baseMs: Date.now() - 3_600_000, spreadMs: 1_800_000 });
      const messages = [];
      for (let i = 0; i < records.length; i += 500) {
        const slice = records.slice(i, i + 500);
        const flows = toColumns({ records: slice, collector_id: 'c' });
        messages.push({ seq: 1 + i / 500, redelivered: false, flows, prepared: encodeMessage(flows) });
      }
      await new ClickHouseWriter(env.engine, db, log, createRegistry('t')).write(messages);
      assert.equal(await migrate(env.engine, db, 30 * DAY, log), MIGRATIONS.at(-1)!.version);
      const sent = totals(records);
      for (const t of DATA_TABLE_NAMES) {
        assert.deepEqual(await tableTotals(env.engine, db, t), sent, t);
        const [m] = await env.engine.query<{ n: string }>(`SELECT uniqExact(ingest_seq) AS n FROM ${db}.${t} WHERE ingest_seq != 0`);
        assert.equal(Number(m!.n), messages.length, `${t}: markers carried over`);
      }
      const left = await env.engine.query<{ name: string }>(`SELECT name FROM system.tables WHERE database = '${db}' AND (name LIKE 'flows_1m_talkers%' OR name LIKE 'flows_1m_ports%')`);
      assert.deepEqual(left, [], 'the old rollups and their views are gone');
      // A rerun of the backfill (as after a crash before the version was recorded) adds nothing.
      for (const sql of MIGRATIONS[1]!.statements(ctx)) await env.engine.exec(sql);
      for (const t of DATA_TABLE_NAMES) assert.deepEqual(await tableTotals(env.engine, db, t), sent, `${t} after a rerun`);
    });

    test('one insert of one partition is one part in every table, even past the parser chunk size', async () => {
      const db = freshDatabase();
      await migrate(env.engine, db, 30 * DAY, log);
      for (const t of DATA_TABLE_NAMES) await env.engine.exec(`SYSTEM STOP MERGES ${db}.${t}`);
      const noon = Math.floor(Date.now() / DAY) * DAY - 12 * 3_600_000;
      // 120 000 records: about 17 MB of TSV, more than the 10 MiB a modern parser splits input into.
      const records = makeFlows(120_000, { seed: 9, baseMs: noon });
      const messages = [];
      for (let i = 0; i < records.length; i += 1000) {
        const slice = records.slice(i, i + 1000);
        const flows = toColumns({ records: slice, collector_id: 'c' });
        messages.push({ seq: 1 + i / 1000, redelivered: false, flows, prepared: encodeMessage(flows) });
      }
      const bytes = messages.reduce((n, m) => n + m.prepared.chunks.reduce((k, c) => k + c.data.length, 0), 0);
      assert.ok(bytes > 10 * 1024 * 1024, `payload ${bytes} bytes`);
      await new ClickHouseWriter(env.engine, db, log, createRegistry('t')).write(messages);
      for (const t of DATA_TABLE_NAMES) {
        const [p] = await env.engine.query<{ n: string }>(`SELECT count() AS n FROM system.parts WHERE database = '${db}' AND table = '${t}' AND active`);
        assert.equal(Number(p!.n), 1, `${t}: parts`);
      }
      const [c] = await env.engine.query<{ n: string }>(`SELECT count() AS n FROM ${db}.flows WHERE ingest_seq = 0`);
      assert.equal(Number(c!.n), records.length);
    });

    test('address literals, CIDR ranges and time buckets select what hand arithmetic says', async () => {
      const db = freshDatabase();
      await migrate(env.engine, db, 30 * DAY, log);
      const base = makeFlows(1, { seed: 1 })[0]!;
      const addresses = ['10.0.0.1', '10.255.255.255', '11.0.0.0', '9.255.255.255', '192.0.2.77', '2001:db8::1', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', '2001:db9::', '::'];
      // Yesterday 10:07:13 UTC, then a minute later each (inside the TTL of modern engines).
      const t0 = Math.floor(Date.now() / DAY) * DAY - DAY + (10 * 3600 + 7 * 60 + 13) * 1000;
      const records = addresses.map((a, i) => ({ ...base, src_ip: a, input_if: i, timestamp: t0 + i * 60_000 }));
      const flows = toColumns({ records, collector_id: 'c' });
      const messages = [{ seq: 1, redelivered: false, flows, prepared: encodeMessage(flows) }];
      await new ClickHouseWriter(env.engine, db, log, createRegistry('t')).write(messages);
      const select = async (where: string) => (await env.engine.query<{ i: number }>(`SELECT input_if AS i FROM ${db}.flows WHERE ingest_seq = 0 AND ${where} ORDER BY i`)).map((r) => Number(r.i));

      // 10.0.0.0/8 and 2001:db8::/32 as [first, last], written out by hand.
      assert.deepEqual(await select(ipRange('src_ip', v4(10, 0, 0, 0), v4(10, 255, 255, 255))), [0, 1]);
      const v6lo = new Uint8Array(16); v6lo.set([0x20, 0x01, 0x0d, 0xb8]);
      const v6hi = new Uint8Array(16).fill(0xff); v6hi.set([0x20, 0x01, 0x0d, 0xb8]);
      assert.deepEqual(await select(ipRange('src_ip', v6lo, v6hi)), [5, 6]);
      assert.deepEqual(await select(ipRange('src_ip', v4(192, 0, 2, 77), v4(192, 0, 2, 77))), [4]);
      assert.deepEqual(await select(`src_ip = ${ipLiteral(new Uint8Array(16))}`), [8]);
      const hex = await env.engine.query<{ h: string }>(`SELECT ${ipHex('src_ip')} AS h FROM ${db}.flows WHERE ingest_seq = 0 AND input_if = 4`);
      assert.deepEqual(hex, [{ h: '00000000000000000000ffffc000024d' }]);

      // Literals floor to the second, as the column stores it: t0+3min+999ms is t0+3min, excluded.
      assert.deepEqual(await select(`timestamp >= ${timeLiteral(t0 + 60_000)} AND timestamp < ${timeLiteral(t0 + 3 * 60_000 + 999)}`), [1, 2]);
      for (const width of [7, 60, 300, 3600, 86_400]) {
        const rows = await env.engine.query<{ i: number; b: number }>(`SELECT input_if AS i, toUInt32(${timeBucket('timestamp', width)}) AS b FROM ${db}.flows WHERE ingest_seq = 0 ORDER BY i`);
        assert.deepEqual(rows.map((r) => Number(r.b)), records.map((r) => Math.floor(r.timestamp / 1000 / width) * width), `${width} s buckets`);
      }
    });
  });
}
