// kill -9 of the writer (a child process: node dist/cli.js clickhouse-writer)
// in the middle of batches, again and again while flows keep coming, then a
// restart: every record is stored exactly once, in the flows table and in every
// rollup. chDB dies with the writer (it is in its process); a server outlives it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONSUMERS, ensureStream, STREAM } from '../../common/stream.js';
import type { FlowRecord } from '../../common/flow.js';
import { openEngine, type ClickHouseEngine, type EngineConfig } from '../../consumers/clickhouse/engine.js';
import { startClickHouseServer, type ClickHouseServer } from '../helpers/clickhouse-server.js';
import { spawnPeer, tempDir, waitFor, type Peer } from '../helpers/process.js';
import { chunks, DATA_TABLE_NAMES, ENGINE_KINDS, ENGINE_NAMES, log, makeFlows, publish, rng, startNats, tableTotals, totals, waitForConsumerDrained, type Nats } from './harness.js';

const CLI = fileURLToPath(new URL('../../cli.js', import.meta.url));
const KILLS = 5;

for (const kind of ENGINE_KINDS) {
  describe(`kill -9 of the writer on ${ENGINE_NAMES[kind]}`, () => {
    let server: ClickHouseServer | undefined;
    let nats: Nats;
    const dir = tempDir('crash');
    before(async () => {
      if (kind === 'server') server = await startClickHouseServer();
      nats = await startNats();
    });
    after(async () => {
      await nats.close();
      await server?.destroy();
      dir.remove();
    });

    test('no record lost, none stored twice', async () => {
      const database = 'crash';
      const engineConfig: EngineConfig = server
        ? { clickhouse_url: server.url, clickhouse_user: server.user, clickhouse_password: server.password }
        : { clickhouse_url: '', clickhouse_data_dir: join(dir.path, 'chdb') };
      const configFile = join(dir.path, 'writer.json');
      writeFileSync(configFile, JSON.stringify({
        nats_url: nats.server.url, ...engineConfig, clickhouse_database: database,
        batch_size: 4000, batch_wait: '300ms', ack_wait: '3s', metrics_listen_addr: '', retention_interval: '1h',
      }));
      const spawnWriter = () => spawnPeer(process.execPath, [CLI, 'clickhouse-writer', '--config', configFile], { env: { ...process.env, LOG_LEVEL: 'info' } });

      // Messages of 250 records, ten every half second (5 000 records/s), for as
      // long as the kills go on.
      const noon = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 12 * 3_600_000;
      const batches: FlowRecord[][] = [];
      const jsm = await nats.nc.jetstreamManager();
      // As a checker started first would have.
      await ensureStream(jsm, { max_bytes: 1 << 30, max_age_ms: 86_400_000, replicas: 1 }, log);
      let killing = true;
      const publishing = (async () => {
        for (let g = 0; killing; g++) {
          const group = chunks(makeFlows(2500, { seed: 100 + g, baseMs: noon }).map((r, i) => ({ ...r, input_if: g * 2500 + i })), 250);
          await publish(nats.nc, group);
          batches.push(...group);
          await new Promise((r) => setTimeout(r, 500));
        }
      })();

      const consumerInfo = async () => {
        try { return await jsm.consumers.info(STREAM, CONSUMERS.clickhouse); } catch { return undefined; }
      };
      const rand = rng(5);
      let midBatchKills = 0;
      let writer: Peer | undefined;
      try {
        for (let k = 0; k < KILLS; k++) {
          writer = spawnWriter();
          const acked = (await consumerInfo())?.ack_floor.stream_seq ?? 0;
          // Once this instance has acked something (it is past start-up), kill it at a random moment.
          await waitFor('the writer to make progress', async () => {
            if (writer!.proc.exitCode !== null) throw new Error(`writer exited: ${writer!.output()}`);
            return ((await consumerInfo())?.ack_floor.stream_seq ?? 0) > acked;
          }, 60_000, 20);
          await new Promise((r) => setTimeout(r, 50 + rand() * 700));
          if (((await consumerInfo())?.num_ack_pending ?? 0) > 0) midBatchKills++;
          await writer.kill('SIGKILL');
        }
        killing = false;
        await publishing;
        writer = spawnWriter();
        await waitForConsumerDrained(nats.nc, CONSUMERS.clickhouse, 180_000);
        await writer.kill('SIGTERM');
        assert.equal(writer.proc.exitCode ?? writer.proc.signalCode, 0, `writer stopped cleanly: ${writer.output().slice(-2000)}`);
      } finally {
        await writer?.kill('SIGKILL');
      }
      const records = batches.flat();
      assert.ok(midBatchKills >= 1, `at least one kill hit messages in flight (${midBatchKills} of ${KILLS})`);

      // The writer is gone, so this process may open its chDB folder.
      const engine: ClickHouseEngine = await openEngine(engineConfig);
      try {
        const [row] = await engine.query<{ n: string; u: string }>(`SELECT count() AS n, uniqExact(input_if) AS u FROM ${database}.flows WHERE ingest_seq = 0`);
        assert.deepEqual([Number(row!.n), Number(row!.u)], [records.length, records.length], 'flows: every record once');
        const sent = totals(records);
        for (const table of DATA_TABLE_NAMES) assert.deepEqual(await tableTotals(engine, database, table), sent, table);
        for (const table of DATA_TABLE_NAMES) {
          const [m] = await engine.query<{ n: string; u: string }>(`SELECT count() AS n, uniqExact(ingest_seq) AS u FROM ${database}.${table} WHERE ingest_seq != 0`);
          assert.deepEqual([Number(m!.n), Number(m!.u)], [batches.length, batches.length], `${table}: one marker per message`);
        }
      } finally {
        await engine.close();
      }
    });
  });
}
