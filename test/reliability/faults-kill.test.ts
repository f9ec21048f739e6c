// kill -9 of each service mid-stream, restarted: the writers and the core lose
// nothing and store nothing twice; the checker loses only what UDP cannot keep
// (what was sent while nothing listened, what it held unacknowledged).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fault, lossless } from './faults.js';

test('kill -9 of clickhouse-writer: nothing lost, nothing twice', { timeout: 300_000 }, async () => { await lossless('kill -9 clickhouse-writer'); });
test('kill -9 of parquet-writer: nothing lost, nothing twice', { timeout: 300_000 }, async () => { await lossless('kill -9 parquet-writer'); });
test('kill -9 of the core: the writers go on, nothing lost', { timeout: 300_000 }, async () => {
  const r = await lossless('kill -9 core');
  assert.ok(r.saw.some((s) => s.startsWith('core API: connection refused')), `the API was seen down: ${r.saw.join('; ')}`);
});
test('kill -9 of the checker: only what was sent while it was down is lost', { timeout: 300_000 }, async () => {
  const r = await fault('kill -9 checker');
  assert.ok(r.sentWhileDown.certain > 0, 'traffic was sent while it was down');
  assert.equal(r.clickhouse.lost, r.iceberg.lost, 'both tiers hold the same flows');
  assert.ok(r.saw.includes('checker: no answer (process down)'), r.saw.join('; '));
});
