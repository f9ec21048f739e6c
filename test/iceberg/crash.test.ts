// kill -9 at every step of a commit (after the data files, after the
// manifest, after the manifest list, just before and just after the metadata
// swap), then restart: nothing lost, nothing committed twice, the independent
// readers never fail, and the crashed commit's files are swept away.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { STREAM } from '../../common/stream.js';
import { FsCatalog } from '../../consumers/iceberg/catalog-fs.js';
import { CRASH_POINTS } from '../../consumers/iceberg/snapshot.js';
import { loadTable } from '../../consumers/iceberg/table.js';
import { makeFlows } from '../helpers/iceberg-flows.js';
import { readWithPeers } from '../helpers/iceberg-peers.js';
import { expectedView, publishFlows, spawnWriter, writeConfig } from '../helpers/iceberg-writer.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { tempDir, waitFor } from '../helpers/process.js';

let nats: NatsServer;
let nc: NatsConnection;
let dir: ReturnType<typeof tempDir>;

before(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  dir = tempDir('iceberg-crash');
});

after(async () => {
  await nc?.close();
  await nats?.destroy();
  dir?.remove();
});

function dataFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => { for (const n of readdirSync(d)) { const p = join(d, n); if (statSync(p).isDirectory()) walk(p); else out.push(p); } };
  if (existsSync(join(root, 'data'))) walk(join(root, 'data'));
  return out.sort();
}

const committedRows = async (root: string) => {
  const t = await new FsCatalog(root).load();
  return t ? Number((await loadTable(new FsCatalog(root))).currentSnapshot?.summary['total-records'] ?? 0) : 0;
};

for (const point of CRASH_POINTS) {
  test(`kill -9 ${point}: restart loses nothing and commits nothing twice`, async () => {
    // A fresh stream per case: the consumer then delivers only this case's messages.
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(STREAM).catch(() => undefined);
    const root = join(dir.path, point);
    const config = writeConfig(dir.path, point, { nats_url: nats.url, output_path: root, batch_size: 4000, orphan_grace: '1s' });
    const records = makeFlows(10_000, { seed: CRASH_POINTS.indexOf(point) + 20, startMs: Date.now() - 3_600_000, ratePerSecond: 100 });

    // A first batch commits normally, so the crash hits a table that has data.
    const first = spawnWriter(config);
    await waitFor('the writer to create the stream', async () => { await jsm.streams.info(STREAM); return true; }, 30_000);
    await publishFlows(nc.jetstream(), records.slice(0, 2000), 500);
    await waitFor('the first batch', async () => (await committedRows(root)) === 2000, 60_000, 200);
    await first.kill();

    const crashing = spawnWriter(config, { SRNF_ICEBERG_CRASH_AT: point });
    const exited = new Promise<string | null>((resolve) => crashing.proc.once('exit', (_code, signal) => resolve(signal)));
    await publishFlows(nc.jetstream(), records.slice(2000), 500);
    assert.equal(await exited, 'SIGKILL', `the writer died at ${point}: ${crashing.output().slice(-2000)}`);

    // Readers see a whole version: the one before the crash, or (after the swap) the crashed commit.
    const during = await readWithPeers({ static: root });
    if (point === 'after-swap') assert.ok(during.pyiceberg.rows > 2000, 'the crashed commit landed');
    else assert.equal(during.pyiceberg.rows, 2000, 'the crashed commit did not land');
    assert.equal(during.duckdb!.rows, during.pyiceberg.rows);

    await new Promise((r) => setTimeout(r, 1500)); // older than orphan_grace
    const restarted = spawnWriter(config);
    try {
      await waitFor('every record committed after restart', async () => (await committedRows(root)) >= records.length, 90_000, 200);
      await new Promise((r) => setTimeout(r, 1500)); // a redelivery, if any, would commit again now
    } finally {
      await restarted.kill();
    }
    assert.equal((await jsm.streams.info(STREAM)).state.messages, 20, 'the stream holds each published message once');
    const views = await readWithPeers({ static: root });
    // Every stream message is in exactly one append (checked first: it names the message a failure doubled or lost).
    const seqs = views.pyiceberg.summaries.flatMap((s) => (s['serviceradar.batch-seqs'] ?? '').split(',').filter(Boolean).flatMap((r) => {
      const [a, b] = r.split('-').map(Number);
      return Array.from({ length: (b ?? a!) - a! + 1 }, (_, i) => a! + i);
    }));
    const story = () => `snapshots: ${JSON.stringify(views.pyiceberg.summaries)}\ncrashed writer: ${crashing.output().slice(-4000)}\nrestarted writer: ${restarted.output().slice(-8000)}`;
    assert.deepEqual([...seqs].sort((x, y) => x - y), Array.from({ length: 20 }, (_, i) => i + 1), story());
    const want = expectedView(records);
    for (const [name, v] of Object.entries({ pyiceberg: views.pyiceberg, duckdb: views.duckdb! })) {
      assert.equal(v.rows, want.rows, `${name} rows; ${story()}`);
      assert.equal(v.distinct_keys, want.distinct_keys, `${name} distinct rows`);
      assert.deepEqual(v.sums, want.sums, `${name} sums`);
      assert.deepEqual(v.time_sums, want.time_sums, `${name} time sums`);
    }
    // The crashed commit's files were swept at restart.
    assert.deepEqual(dataFiles(root), views.pyiceberg.files.map((f) => f.replace(/^file:/, '')).sort());
  });
}
