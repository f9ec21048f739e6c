// A message redelivered after its batch was committed (a crash between the
// commit and the ack) is skipped by the committed-sequence set, and a message
// of a stream created anew (numbering from 1 again) is not, as pyiceberg and
// DuckDB read the table back. (Two copies inside one batch never reach
// the writer: the pull loop drops the second, test/common/pull-redelivery.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FsCatalog } from '../../consumers/iceberg/catalog-fs.js';
import { makeFlows } from '../helpers/iceberg-flows.js';
import { readWithPeers } from '../helpers/iceberg-peers.js';
import { expectedView, streamMessage, withTable, writerFor } from '../helpers/iceberg-writer.js';

test('a message redelivered after its commit is not committed again; one of a new stream with the same sequence is', () => withTable('iceberg-redelivery', async (root, parquet) => {
  const records = makeFlows(1200, { seed: 12, startMs: Date.now() - 3_600_000, ratePerSecond: 50 });
  const message = (seq: number, redelivered: boolean) => streamMessage(seq, records.slice((seq - 1) * 300, seq * 300), redelivered);
  const writer = (created: string) => writerFor(new FsCatalog(root), parquet, { stream: async () => ({ created, lastSeq: 3 }) });
  const first = writer('2026-12-01T10:00:00Z');
  await first.write([message(1, false), message(2, false)]);
  await first.write([message(2, true), message(3, false)]);

  const views = await readWithPeers({ static: root });
  const want = expectedView(records.slice(0, 900));
  for (const [name, v] of Object.entries({ pyiceberg: views.pyiceberg, duckdb: views.duckdb! })) {
    assert.equal(v.rows, 900, `${name} rows`);
    assert.equal(v.distinct_keys, want.distinct_keys, `${name} distinct rows`);
    assert.deepEqual(v.sums, want.sums, `${name} sums`);
  }
  assert.deepEqual(views.pyiceberg.summaries.map((s) => s['serviceradar.batch-seqs']), ['1-2', '3']);

  // The stream deleted and created again: its message 1 is new, not the committed one.
  await writer('2026-12-03T08:00:00Z').write([{ ...message(4, false), seq: 1 }]);
  const after = await readWithPeers({ static: root });
  assert.equal(after.pyiceberg.rows, 1200);
  assert.deepEqual(after.pyiceberg.sums, expectedView(records).sums);
}));
