// chDB binds one data directory per process: every openEngine on the same
// folder shares one session (the writer and the core-extension in one
// process), it stays open until the last handle closes, and a second folder is
// refused with a message that says why.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openEngine } from '../../consumers/clickhouse/engine.js';
import { tempDir } from '../helpers/process.js';

const dir = tempDir('chdb-share');
after(() => dir.remove());

test('handles on one folder share a session until the last one closes', async () => {
  const [writer, planner] = await Promise.all([
    openEngine({ clickhouse_url: '', clickhouse_data_dir: join(dir.path, 'db') }),
    openEngine({ clickhouse_url: '', clickhouse_data_dir: join(dir.path, 'db', '..', 'db') }),
  ]);
  assert.equal(writer.kind, 'chdb');
  await writer.exec('CREATE TABLE default.shared (n UInt32) ENGINE = MergeTree() ORDER BY n');
  await writer.insert('default.shared', [{ n: 1 }, { n: 2 }]);
  // Queries from both at once, as the core-extension's run beside the writer's inserts.
  const [during] = await Promise.all([planner.query<{ s: string }>('SELECT sum(n) AS s FROM default.shared'), writer.insert('default.shared', [{ n: 3 }])]);
  assert.ok(['3', '6'].includes(during[0]!.s), 'before or after the insert, never half of it');
  await writer.close();
  await writer.close(); // idempotent: must not release the planner's share
  assert.deepEqual(await planner.query('SELECT sum(n) AS s FROM default.shared'), [{ s: '6' }]);
  await assert.rejects(openEngine({ clickhouse_url: '', clickhouse_data_dir: join(dir.path, 'other') }), /binds one data directory per process/);
  await planner.close();
});

test('a folder reopened after every handle closed sees the same data', async () => {
  const engine = await openEngine({ clickhouse_url: '', clickhouse_data_dir: join(dir.path, 'db') });
  try {
    assert.deepEqual(await engine.query('SELECT count() AS c FROM default.shared'), [{ c: '3' }]);
  } finally {
    await engine.close();
  }
});
