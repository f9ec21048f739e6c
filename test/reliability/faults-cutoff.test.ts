// The checker cut off from NATS for longer than its queue holds (5,000 records,
// drop_oldest): it drops, and counts, exactly what is missing from both tiers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fault } from './faults.js';

test('checker cut off from NATS past its queue: exactly the counted drops are missing', { timeout: 300_000 }, async () => {
  // 3,000 flows/s for 5 s: three times what the queue holds.
  const r = await fault('checker cut off from NATS', { exporters: 10, rate: 300, downMs: 5000 });
  assert.ok(r.checkerDrops > 0, 'the queue overflowed');
  assert.equal(r.clickhouse.lost, r.checkerDrops, 'ClickHouse misses exactly the counted drops');
  assert.equal(r.iceberg.lost, r.checkerDrops, 'Iceberg misses exactly the counted drops');
  assert.ok(r.saw.some((s) => s.includes('NOT_SERVING')), `the checker reported NATS unavailable: ${r.saw.join('; ')}`);
});
