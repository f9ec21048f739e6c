// The ClickHouse server goes away for 60 s (killed, mid-insert or not) while
// the checkers keep publishing: the writer retries, the stream holds the
// backlog, and once the server is back everything drains, each record once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowRecord } from '../../common/flow.js';
import { CONSUMERS, ensureStream } from '../../common/stream.js';
import { chunks, DATA_TABLE_NAMES, freshDatabase, log, makeFlows, publish, startEngine, startNats, startWriter, tableTotals, totals, waitForConsumerDrained, waitForFlows, writerConfig, type EngineEnv, type Nats } from './harness.js';

const OUTAGE_MS = 60_000;

describe('clickhouse-server 18.16 down for 60 s', () => {
  let env: EngineEnv;
  let nats: Nats;
  before(async () => { env = await startEngine('server'); nats = await startNats(); });
  after(async () => { await nats.close(); await env.close(); });

  test('the backlog drains after the restart, nothing lost, nothing twice', async () => {
    const db = freshDatabase();
    const writer = await startWriter(writerConfig(env, nats.server, db, { batch_size: 3000 }));
    const noon = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 12 * 3_600_000;
    const batches: FlowRecord[][] = [];
    let publishing = true;
    await ensureStream(await nats.nc.jetstreamManager(), { max_bytes: 1 << 30, max_age_ms: 86_400_000, replicas: 1 }, log);
    const publisher = (async () => {
      for (let g = 0; publishing; g++) {
        const group = chunks(makeFlows(1000, { seed: 300 + g, baseMs: noon }).map((r, i) => ({ ...r, input_if: g * 1000 + i })), 200);
        await publish(nats.nc, group);
        batches.push(...group);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    try {
      await waitForFlows(env.engine, db, 5000);
      // A crash rather than a polite stop: an insert may be cut off half way.
      await env.server!.kill();
      const downAt = Date.now();
      await new Promise((r) => setTimeout(r, OUTAGE_MS));
      const storedBefore = batches.length;
      await env.server!.start();
      await new Promise((r) => setTimeout(r, 3000));
      publishing = false;
      await publisher;
      assert.ok(Date.now() - downAt >= OUTAGE_MS);
      assert.ok(batches.length > storedBefore, 'flows kept coming after the restart too');

      const records = batches.flat();
      await waitForConsumerDrained(nats.nc, CONSUMERS.clickhouse, 180_000);
      await waitForFlows(env.engine, db, records.length, 30_000);
      const [row] = await env.engine.query<{ n: string; u: string }>(`SELECT count() AS n, uniqExact(input_if) AS u FROM ${db}.flows WHERE ingest_seq = 0`);
      assert.deepEqual([Number(row!.n), Number(row!.u)], [records.length, records.length], 'flows: every record once');
      const sent = totals(records);
      for (const table of DATA_TABLE_NAMES) assert.deepEqual(await tableTotals(env.engine, db, table), sent, table);
    } finally {
      publishing = false;
      await publisher;
      await writer.stop();
    }
  });
});
