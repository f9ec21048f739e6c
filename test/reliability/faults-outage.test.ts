// Outages of the broker and of the hot tier's server under load: nothing lost,
// nothing stored twice, and the pipeline catches up by itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lossless } from './faults.js';

test('nats-server restart: nothing lost, nothing twice', { timeout: 300_000 }, async () => {
  const r = await lossless('nats-server restart');
  assert.ok(r.saw.some((s) => s.includes('NOT_SERVING')), `the checker reported NATS unavailable: ${r.saw.join('; ')}`);
});
test('clickhouse-server down: nothing lost, nothing twice', { timeout: 300_000 }, async () => {
  await lossless('clickhouse-server down');
});
