// Two instances compacting the same day at once: one replace lands, the
// other finds its files gone and steps back; readers see every row once. And
// a replace that lands while its catalog answers "state unknown" (a REST
// server's 5xx after the commit) keeps the files and manifests it named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../common/log.js';
import type { LoadedTable } from '../../consumers/iceberg/catalog.js';
import { FsCatalog } from '../../consumers/iceberg/catalog-fs.js';
import { CommitStateUnknownError, type Commit } from '../../consumers/iceberg/metadata.js';
import { compact } from '../../consumers/iceberg/compaction.js';
import { ParquetWriter } from '../../consumers/iceberg/parquet.js';
import { makeFlows } from '../helpers/iceberg-flows.js';
import { readWithPeers } from '../helpers/iceberg-peers.js';
import { expectedView, streamMessage, withTable, writerFor } from '../helpers/iceberg-writer.js';
import { tempDir } from '../helpers/process.js';

const log = createLogger('test', 'silent');

test('concurrent compactions of one day: one wins, nothing lost or doubled', async () => {
  const dir = tempDir('iceberg-race');
  const parquets = await Promise.all([0, 1].map(() => ParquetWriter.open({ threads: 1 })));
  try {
    const root = join(dir.path, 'netflow');
    const day = Math.floor(Date.now() / 86_400_000) - 3;
    const records = makeFlows(9000, { seed: 3, startMs: day * 86_400_000 + 3_600_000, ratePerSecond: 10 });
    const writer = writerFor(new FsCatalog(root), parquets[0]!);
    for (let i = 0; i < 3; i++) await writer.write([streamMessage(i + 1, records.slice(i * 3000, (i + 1) * 3000))]);
    const opts = { minFiles: 2, targetFileBytes: 1 << 30, settleMs: 0 };
    const results = await Promise.all(parquets.map((p) => compact(new FsCatalog(root), p, opts, log)));
    assert.equal(results.flat().length, 1, 'exactly one compaction committed');
    const views = await readWithPeers({ static: root });
    const want = expectedView(records);
    for (const [name, v] of Object.entries({ pyiceberg: views.pyiceberg, duckdb: views.duckdb! })) {
      assert.equal(v.rows, want.rows, `${name} rows`);
      assert.equal(v.distinct_keys, want.distinct_keys, `${name} distinct`);
      assert.deepEqual(v.sums, want.sums, `${name} sums`);
    }
    assert.equal(views.pyiceberg.files.length, 1);
    assert.equal(views.pyiceberg.operation, 'replace');
    // The three batch files (still in older snapshots) and the winner's output; the loser's is deleted.
    const dayDir = join(root, 'data', `timestamp_day=${new Date(day * 86_400_000).toISOString().slice(0, 10)}`);
    assert.equal(readdirSync(dayDir).filter((f) => f.endsWith('.parquet')).length, 4);
  } finally {
    for (const p of parquets) p.close();
    dir.remove();
  }
});

/** The real filesystem catalog, whose replace commits land and then report their state unknown. */
class UnsureOfReplaces extends FsCatalog {
  override async commit(base: LoadedTable, commit: Commit): Promise<LoadedTable> {
    const after = await super.commit(base, commit);
    const added = commit.updates.find((u) => u.action === 'add-snapshot');
    if (added?.action === 'add-snapshot' && added.snapshot.summary.operation === 'replace') throw new CommitStateUnknownError('502 from the catalog');
    return after;
  }
}

test('a compaction that landed while its catalog answered "state unknown" leaves a readable table', () => withTable('iceberg-unknown', async (root, parquet) => {
  const day = Math.floor(Date.now() / 86_400_000) - 3;
  const records = makeFlows(6000, { seed: 8, startMs: day * 86_400_000 + 3_600_000, ratePerSecond: 10 });
  const writer = writerFor(new FsCatalog(root), parquet);
  for (let i = 0; i < 2; i++) await writer.write([streamMessage(i + 1, records.slice(i * 3000, (i + 1) * 3000))]);
  const results = await compact(new UnsureOfReplaces(root), parquet, { minFiles: 2, targetFileBytes: 1 << 30, settleMs: 0 }, log);
  assert.equal(results.length, 1);
  const views = await readWithPeers({ static: root });
  const want = expectedView(records);
  for (const [name, v] of Object.entries({ pyiceberg: views.pyiceberg, duckdb: views.duckdb! })) {
    assert.equal(v.rows, want.rows, `${name} rows`);
    assert.deepEqual(v.sums, want.sums, `${name} sums`);
  }
  assert.equal(views.pyiceberg.operation, 'replace');
  assert.equal(views.pyiceberg.files.length, 1);
}));
