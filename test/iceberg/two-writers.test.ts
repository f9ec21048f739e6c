// Two parquet-writer processes on the same durable consumer and table: the
// stream's messages interleave between them, their commits race for the
// same metadata version, and still every message is committed exactly once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { STREAM } from '../../common/stream.js';
import { FsCatalog } from '../../consumers/iceberg/catalog-fs.js';
import { loadTable } from '../../consumers/iceberg/table.js';
import { makeFlows } from '../helpers/iceberg-flows.js';
import { readWithPeers } from '../helpers/iceberg-peers.js';
import { expectedView, publishFlows, spawnWriter, writeConfig } from '../helpers/iceberg-writer.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { tempDir, waitFor, type Peer } from '../helpers/process.js';

let nats: NatsServer;
let nc: NatsConnection;
let dir: ReturnType<typeof tempDir>;
const writers: Peer[] = [];

before(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  dir = tempDir('iceberg-two');
});

after(async () => {
  for (const w of writers) await w.kill();
  await nc?.close();
  await nats?.destroy();
  dir?.remove();
});

const ranges = (text: string) => text.split(',').filter(Boolean).flatMap((r) => {
  const [a, b] = r.split('-').map(Number);
  return Array.from({ length: (b ?? a!) - a! + 1 }, (_, i) => a! + i);
});

test('two instances on one consumer: every message committed once', async () => {
  const root = join(dir.path, 'netflow');
  // Small batches and a short window: many commits, so the two instances race often.
  const config = writeConfig(dir.path, 'writer', { nats_url: nats.url, output_path: root, batch_size: 1000, batch_interval: '300ms' });
  writers.push(spawnWriter(config), spawnWriter(config));
  const jsm = await nc.jetstreamManager();
  await waitFor('the consumer', async () => { await jsm.consumers.info(STREAM, 'parquet-writer'); return true; }, 30_000);
  await new Promise((r) => setTimeout(r, 1000)); // both pulling

  const records = makeFlows(40_000, { seed: 5, startMs: Date.now() - 7_200_000, ratePerSecond: 200 });
  const js = nc.jetstream();
  let seqs: number[] = [];
  for (let i = 0; i < records.length; i += 4000) {
    seqs = seqs.concat(await publishFlows(js, records.slice(i, i + 4000), 200));
    await new Promise((r) => setTimeout(r, 100));
  }
  await waitFor('every record committed', async () => Number((await loadTable(new FsCatalog(root))).currentSnapshot?.summary['total-records'] ?? 0) >= records.length, 120_000, 250);
  await new Promise((r) => setTimeout(r, 1500));
  for (const w of writers) await w.kill();

  const views = await readWithPeers({ static: root });
  const want = expectedView(records);
  for (const [name, v] of Object.entries({ pyiceberg: views.pyiceberg, duckdb: views.duckdb! })) {
    assert.equal(v.rows, want.rows, `${name} rows`);
    assert.equal(v.distinct_keys, want.distinct_keys, `${name} distinct rows`);
    assert.deepEqual(v.sums, want.sums, `${name} sums`);
  }
  const committed = views.pyiceberg.summaries.flatMap((s) => ranges(s['serviceradar.batch-seqs'] ?? ''));
  assert.deepEqual([...committed].sort((a, b) => a - b), seqs, 'each message in exactly one snapshot');
  // Both instances committed: the messages were shared between them.
  const instances = new Set(views.pyiceberg.summaries.map((s) => s['serviceradar.writer']));
  assert.equal(instances.size, 2, `commits by ${[...instances].join(', ')}`);
});
