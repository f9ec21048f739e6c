// The parquet-writer refuses messages whose values the table cannot hold:
// each goes to the dead-letter subject with the record and field in its
// reason, and the valid messages around them are committed (as pyiceberg and
// DuckDB read them back).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AckPolicy, connect, DeliverPolicy } from 'nats';
import { encodeBatch } from '../../common/flow.js';
import { createLogger } from '../../common/log.js';
import { DEAD_LETTER_PREFIX, DEAD_LETTER_STREAM, SUBJECT } from '../../common/stream.js';
import { FsCatalog } from '../../consumers/iceberg/catalog-fs.js';
import { loadParquetWriterConfig } from '../../consumers/iceberg/config.js';
import { ParquetWriterService } from '../../consumers/iceberg/service.js';
import { loadTable } from '../../consumers/iceberg/table.js';
import { makeFlows } from '../helpers/iceberg-flows.js';
import { readWithPeers } from '../helpers/iceberg-peers.js';
import { expectedView, publishFlows, writeConfig } from '../helpers/iceberg-writer.js';
import { startNatsServer } from '../helpers/nats-server.js';
import { tempDir, waitFor } from '../helpers/process.js';

test('messages with values the table cannot hold are dead-lettered with the reason; the rest are committed', async () => {
  const nats = await startNatsServer();
  const nc = await connect({ servers: nats.url });
  const dir = tempDir('iceberg-dead');
  const root = join(dir.path, 'netflow');
  const service = new ParquetWriterService(loadParquetWriterConfig(writeConfig(dir.path, 'writer', { nats_url: nats.url, output_path: root }), { required: true }), createLogger('test', 'silent'));
  let running = false;
  try {
    await service.start();
    running = true;
    const startMs = Date.now() - 7_200_000;
    const good = makeFlows(600, { seed: 9, startMs, ratePerSecond: 100 });
    const tooBig = makeFlows(4, { seed: 10, startMs });
    tooBig[3]!.bytes = 2 ** 60;
    const notUtf8 = makeFlows(3, { seed: 11, startMs });
    notUtf8[1]!.exporter = 'ZZZZ';
    const payload = encodeBatch({ records: notUtf8, collector_id: 'test' });
    payload.set([0x5a, 0xe2, 0x28, 0xa1], Buffer.from(payload).indexOf('ZZZZ'));

    const js = nc.jetstream();
    await publishFlows(js, good.slice(0, 300), 100);
    const [bigSeq] = await publishFlows(js, tooBig, 100);
    const utf8Seq = (await js.publish(SUBJECT, payload)).seq;
    await publishFlows(js, good.slice(300), 100);
    const catalog = new FsCatalog(root);
    await waitFor('the valid records committed', async () => Number((await loadTable(catalog)).currentSnapshot?.summary['total-records'] ?? 0) >= good.length, 60_000, 100);

    const jsm = await nc.jetstreamManager();
    await jsm.consumers.add(DEAD_LETTER_STREAM, { durable_name: 'test', ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All });
    const dead: [string, number, string][] = [];
    for await (const m of await (await js.consumers.get(DEAD_LETTER_STREAM, 'test')).fetch({ max_messages: 10, expires: 2000 })) {
      dead.push([m.subject, Number(m.headers?.get('stream-seq')), m.headers?.get('reason') ?? '']);
      m.ack();
    }
    assert.deepEqual(dead.map(([subject, seq]) => [subject, seq]), [[`${DEAD_LETTER_PREFIX}.parquet-writer`, bigSeq], [`${DEAD_LETTER_PREFIX}.parquet-writer`, utf8Seq]]);
    assert.match(dead[0]![2], /record 3: bytes \d+ is out of range/);
    assert.match(dead[1]![2], /record 1: exporter: .*is not UTF-8/);

    running = false;
    await service.stop();
    const views = await readWithPeers({ static: root });
    const want = expectedView(good);
    for (const [name, v] of Object.entries({ pyiceberg: views.pyiceberg, duckdb: views.duckdb! })) {
      assert.equal(v.rows, want.rows, `${name} rows`);
      assert.deepEqual(v.sums, want.sums, `${name} sums`);
    }
  } finally {
    if (running) await service.stop();
    await nc.close();
    await nats.destroy();
    dir.remove();
  }
});
