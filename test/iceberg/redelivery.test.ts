// Redelivered messages reach the writer's sink in two ways: a copy of a
// message already committed (a crash between commit and ack), and two copies
// of one message inside one batch (its ack_wait ran out while a starved
// process had not read the first). Either way its records are committed once,
// as pyiceberg and DuckDB read the table back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { toColumns } from '../../common/flow.js';
import { createLogger } from '../../common/log.js';
import { createRegistry } from '../../common/metrics.js';
import { FsCatalog } from '../../consumers/iceberg/catalog-fs.js';
import { ParquetWriter } from '../../consumers/iceberg/parquet.js';
import { IcebergWriter } from '../../consumers/iceberg/writer.js';
import type { PreparedFlows } from '../../consumers/iceberg/columns.js';
import type { StreamMessage } from '../../consumers/pull.js';
import { makeFlows } from '../helpers/iceberg-flows.js';
import { readWithPeers } from '../helpers/iceberg-peers.js';
import { expectedView } from '../helpers/iceberg-writer.js';
import { tempDir } from '../helpers/process.js';

test('a message twice in one batch, and again after its commit, is committed once', async () => {
  const dir = tempDir('iceberg-redelivery');
  const parquet = await ParquetWriter.open({ threads: 1 });
  try {
    const root = join(dir.path, 'netflow');
    const records = makeFlows(900, { seed: 12, startMs: Date.now() - 3_600_000, ratePerSecond: 50 });
    const message = (seq: number, redelivered: boolean): StreamMessage<PreparedFlows> => ({
      seq, redelivered, flows: toColumns({ records: records.slice((seq - 1) * 300, seq * 300), collector_id: 'test' }),
    });
    const writer = new IcebergWriter({ catalog: new FsCatalog(root), parquet, log: createLogger('test', 'silent'), registry: createRegistry('w'), source: 'test' });
    await writer.write([message(1, false), message(2, false), message(1, true)]);
    await writer.write([message(2, true), message(3, false)]);

    const views = await readWithPeers({ static: root });
    const want = expectedView(records);
    for (const [name, v] of Object.entries({ pyiceberg: views.pyiceberg, duckdb: views.duckdb! })) {
      assert.equal(v.rows, 900, `${name} rows`);
      assert.equal(v.distinct_keys, want.distinct_keys, `${name} distinct rows`);
      assert.deepEqual(v.sums, want.sums, `${name} sums`);
    }
    assert.deepEqual(views.pyiceberg.summaries.map((s) => s['serviceradar.batch-seqs']), ['1-2', '3']);
  } finally {
    parquet.close();
    dir.remove();
  }
});
