// Metadata that stays small at high commit rates. Appends: each adds one
// manifest, and once a parent lists 100 the next append folds them into one,
// so the 101st of 105 appends lists 2 (its own and the fold) and the 105th
// lists 6, while time travel to the 100th still reads its 100. Snapshots:
// those superseded long ago thin to the last of each UTC hour (worked out by
// hand below).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FsCatalog } from '../../consumers/iceberg/catalog-fs.js';
import type { Snapshot } from '../../consumers/iceberg/metadata.js';
import { snapshotsToExpire } from '../../consumers/iceberg/retention.js';
import { makeFlows } from '../helpers/iceberg-flows.js';
import { readWithPeers } from '../helpers/iceberg-peers.js';
import { expectedView, streamMessage, withTable, writerFor } from '../helpers/iceberg-writer.js';

test('appends fold the manifests they inherit into one past 100, and readers still see every row', () => withTable('iceberg-manifests', async (root, parquet) => {
  const records = makeFlows(1050, { seed: 6, startMs: Date.now() - 7_200_000, ratePerSecond: 10 });
  const writer = writerFor(new FsCatalog(root), parquet);
  for (let i = 0; i < 105; i++) await writer.write([streamMessage(i + 1, records.slice(i * 10, i * 10 + 10))]);

  const views = await readWithPeers({ static: root });
  assert.equal(views.pyiceberg.manifests, 6);
  const want = expectedView(records);
  for (const [name, v] of Object.entries({ pyiceberg: views.pyiceberg, duckdb: views.duckdb! })) {
    assert.equal(v.rows, 1050, `${name} rows`);
    assert.deepEqual(v.sums, want.sums, `${name} sums`);
  }
  const hundredth = await readWithPeers({ static: root, snapshot_id: views.pyiceberg.snapshot_ids[99], duckdb: false });
  assert.equal(hundredth.pyiceberg.manifests, 100);
  assert.equal(hundredth.pyiceberg.rows, 1000);
  assert.deepEqual(hundredth.pyiceberg.sums, expectedView(records.slice(0, 1000)).sums);
}));

test('snapshots superseded over an hour ago thin to the last of their hour; those older than the retention go', () => {
  const H = 3_600_000;
  const now = 100 * H + 30 * 60_000; // 100:30
  // id: created at (hours:minutes), in commit order.
  const at: [number, number][] = [[1, 90 * H + 10 * 60_000], [2, 96 * H + 5 * 60_000], [3, 96 * H + 40 * 60_000], [4, 97 * H + 1 * 60_000],
    [5, 99 * H + 20 * 60_000], [6, 99 * H + 50 * 60_000], [7, 100 * H + 2 * 60_000], [8, 100 * H + 20 * 60_000], [9, 100 * H + 25 * 60_000]];
  // Listed out of commit order: the order is the sequence numbers'.
  const snapshots = at.map(([id, ms], i) => ({ 'snapshot-id': id, 'timestamp-ms': ms, 'sequence-number': i + 1 }) as Snapshot).reverse();
  // Retention 8 h: 1 (90:10) is older. Thin after 1 h: 2 was superseded at 96:40 by 3 of its hour; 3 by 4 of another
  // hour (the last of 96:xx, kept); 5 at 99:50 by 6 of its hour, only 40 minutes ago; 7 by 8, 10 minutes ago; 9 is current.
  assert.deepEqual(snapshotsToExpire(snapshots, new Set([9]), now, 8 * H, H), [1, 2]);
  // Thin after 30 minutes: 5 goes too; a tag keeps 2.
  assert.deepEqual(snapshotsToExpire(snapshots, new Set([9, 2]), now, 8 * H, 30 * 60_000), [1, 5]);
});
