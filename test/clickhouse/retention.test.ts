// Retention on each engine: flows older than the window (old timestamps
// published like any others) are gone from the flows table and every rollup
// after the retention run; recent ones stay. Also the partition arithmetic.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRegistry } from '../../common/metrics.js';
import { CONSUMERS } from '../../common/stream.js';
import { expiredPartitions, partitionDay, RetentionJob } from '../../consumers/clickhouse/retention.js';
import { waitFor } from '../helpers/process.js';
import { chunks, DATA_TABLE_NAMES, ENGINE_KINDS, ENGINE_NAMES, freshDatabase, log, makeFlows, publish, startEngine, startNats, startWriter, tableTotals, totals, waitForConsumerDrained, writerConfig, type EngineEnv, type Nats } from './harness.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

test('a partition goes once its last second is out of the window', () => {
  assert.equal(partitionDay('19700102'), 1);
  assert.equal(partitionDay('20260105'), Date.UTC(2026, 0, 5) / DAY);
  assert.equal(partitionDay('all'), undefined);
  const now = Date.UTC(2026, 0, 10, 6, 0, 0); // 06:00 on Jan 10
  const parts = ['20260106', '20260107', '20260108', '20260109', '20260110', 'tuple()'].map((p) => ({ table: 'flows', partition_id: p }));
  // Window 2 days: the cutoff is Jan 8 06:00, so Jan 7 (ends Jan 8 00:00) goes, Jan 8 stays.
  assert.deepEqual(expiredPartitions(parts, 2 * DAY, now).map((p) => p.partition), ['20260106', '20260107']);
  assert.deepEqual(expiredPartitions(parts, 6 * HOUR, now).map((p) => p.partition), ['20260106', '20260107', '20260108', '20260109']);
});

for (const kind of ENGINE_KINDS) {
  describe(`retention on ${ENGINE_NAMES[kind]}`, () => {
    let env: EngineEnv;
    let nats: Nats;
    before(async () => { env = await startEngine(kind); nats = await startNats(); });
    after(async () => { await nats.close(); await env.close(); });

    test('rows older than the window are gone after the run; recent rows stay', async () => {
      const db = freshDatabase();
      const now = Date.now();
      const old5 = makeFlows(400, { seed: 41, baseMs: now - 5 * DAY });
      const old3 = makeFlows(300, { seed: 42, baseMs: now - 3 * DAY - 2 * HOUR });
      const recent = makeFlows(500, { seed: 43, baseMs: now - HOUR });
      const justIn = makeFlows(200, { seed: 44, baseMs: now });
      const writer = await startWriter(writerConfig(env, nats.server, db, { retention: 2 * DAY, retention_interval: 3_600_000 }));
      try {
        await publish(nats.nc, [...chunks(old5, 100), ...chunks(recent, 100), ...chunks(old3, 100), ...chunks(justIn, 100)]);
        await waitForConsumerDrained(nats.nc, CONSUMERS.clickhouse);
        const kept = [...recent, ...justIn];
        const all = [...old5, ...old3, ...kept];
        // Before the run: everything is there, unless the engine's TTL already dropped expired parts.
        const before = await tableTotals(env.engine, db, 'flows');
        if (!env.engine.capabilities.ttl) assert.deepEqual(before, totals(all), 'all rows stored before the run');

        const job = new RetentionJob(env.engine, db, 2 * DAY, 3_600_000, log, createRegistry('test'));
        const dropped = await job.runOnce();
        const oldDays = new Set([...old5, ...old3].map((r) => new Date(Math.floor(r.timestamp / DAY) * DAY).toISOString().slice(0, 10).replaceAll('-', '')));
        if (!env.engine.capabilities.ttl) assert.deepEqual(new Set(dropped.map((d) => d.partition)), oldDays, 'the old days, nothing else');
        for (const table of DATA_TABLE_NAMES) assert.deepEqual(await tableTotals(env.engine, db, table), totals(kept), table);
        const [oldest] = await env.engine.query<{ t: number }>(`SELECT min(toUnixTimestamp(timestamp)) AS t FROM ${db}.flows`);
        assert.ok(Number(oldest!.t) * 1000 >= now - 2 * DAY - DAY, 'nothing older than window + 1 day remains');
        // A second run finds nothing to do.
        assert.deepEqual(await job.runOnce(), []);
      } finally {
        await writer.stop();
      }
    });

    test('the writer runs the job on its own, every retention_interval', async () => {
      const db = freshDatabase();
      const now = Date.now();
      const old = makeFlows(300, { seed: 51, baseMs: now - 4 * DAY });
      const recent = makeFlows(300, { seed: 52, baseMs: now });
      const writer = await startWriter(writerConfig(env, nats.server, db, { retention: 2 * DAY, retention_interval: 1000 }));
      try {
        await publish(nats.nc, [...chunks(old, 100), ...chunks(recent, 100)]);
        await waitForConsumerDrained(nats.nc, CONSUMERS.clickhouse);
        await waitFor('old partitions to be dropped from every table', async () => {
          for (const table of DATA_TABLE_NAMES) {
            const [r] = await env.engine.query<{ n: string }>(`SELECT count() AS n FROM ${db}.${table} WHERE timestamp < toDateTime(${Math.floor((now - 3 * DAY) / 1000)}, 'UTC')`);
            if (Number(r!.n) !== 0) return false;
          }
          return true;
        }, 20_000, 250);
        for (const table of DATA_TABLE_NAMES) assert.deepEqual(await tableTotals(env.engine, db, table), totals(recent), table);
      } finally {
        await writer.stop();
      }
    });

    if (kind === 'chdb') {
      test('where the engine has TTL, every data table carries the window', async () => {
        const db = freshDatabase();
        const writer = await startWriter(writerConfig(env, nats.server, db, { retention: 3 * DAY }));
        await writer.stop();
        const rows = await env.engine.query<{ name: string; engine_full: string }>(`SELECT name, engine_full FROM system.tables WHERE database = '${db}' AND name IN (${DATA_TABLE_NAMES.map((t) => `'${t}'`).join(', ')})`);
        assert.equal(rows.length, DATA_TABLE_NAMES.length);
        for (const r of rows) assert.match(r.engine_full, /TTL timestamp \+ toIntervalSecond\(259200\)/, r.name);
      });
    }
  });
}
