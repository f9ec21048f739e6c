// The planner's concurrency slots (scheduling only: the tier is a stand-in
// that answers when the test says). A query that runs out of time while
// waiting for a slot must leave the line, or the slot freed later goes to
// nobody and max_concurrent_queries shrinks for good. Status checks wait less
// than dashboard queries, so a waiter can time out while a slot is held.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseQuery } from '../../core-extension/api/params.js';
import type { AggregateEngine } from '../../core-extension/query/model.js';
import { Planner, QueryTimeoutError } from '../../core-extension/query/planner.js';
import { createLogger } from '../../common/log.js';

/** A tier whose answers wait until the test lets them go. */
function heldTier(): AggregateEngine & { calls: number; releaseAll(): void } {
  const held: (() => void)[] = [];
  return {
    calls: 0,
    aggregate(_agg, signal) {
      this.calls++;
      return new Promise((resolve, reject) => {
        held.push(() => resolve({ rows: [], rowsRead: 0, tables: ['held'] }));
        signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      });
    },
    releaseAll() { for (const go of held.splice(0)) go(); },
  };
}

test('a query that times out waiting for a slot gives its place up', async () => {
  const hot = heldTier();
  const now = Date.UTC(2026, 0, 10, 12);
  const planner = new Planner({
    hot, cold: { snapshot: () => Promise.reject(new Error('not used')) }, realtimeThresholdMs: 2 * 86_400_000,
    timeoutMs: 5000, maxConcurrent: 1, log: createLogger('test', 'silent'), now: () => now,
  });
  const q = parseQuery(new URLSearchParams({ time_range: 'last_1h' }), now);
  const first = planner.run(q);
  // A check with a short limit waits behind it and runs out of time in the line.
  await assert.rejects(planner.run(q, { timeoutMs: 100 }), QueryTimeoutError);
  hot.releaseAll();
  assert.deepEqual((await first).meta.tables, ['held']);
  // The one slot is free again: the next query reaches the tier at once.
  const next = planner.run(q);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(hot.calls, 2, 'the next query reached the tier: the slot came back');
  hot.releaseAll();
  assert.deepEqual((await next).meta.tables, ['held']);
});
