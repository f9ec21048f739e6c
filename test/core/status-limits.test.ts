// The poller's check answers within an agent's patience even when the hot
// tier hangs (a ClickHouse server that accepts and never answers): its
// queries have their own 5 s limit, not the dashboard's query_timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../common/log.js';
import { PipelineStatus } from '../../core-extension/grpc/status.js';
import type { AggregateEngine } from '../../core-extension/query/model.js';
import { Planner } from '../../core-extension/query/planner.js';

const log = createLogger('test', 'silent');

test('a hanging hot tier makes the check unavailable within 5 s, not query_timeout', async () => {
  // Never answers; gives up only when the caller aborts.
  const hanging: AggregateEngine = { aggregate: (_agg, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true })) };
  const cold = { snapshot: async () => ({ engine: hanging, snapshotId: null, completeBeforeMs: null }) };
  const planner = new Planner({ hot: hanging, cold, realtimeThresholdMs: 86_400_000, timeoutMs: 30_000, maxConcurrent: 4, log });
  const status = new PipelineStatus({ planner, cold, jsm: () => undefined, stallAfterMs: 60_000, log });
  const started = Date.now();
  const answer = await status.get();
  const took = Date.now() - started;
  // Far from query_timeout's 30 s, even on a busy machine.
  assert.ok(took >= 4900 && took < 15_000, `answered in ${took} ms`);
  assert.equal(answer.available, false);
  const problems = (answer.message as { problems: string[] }).problems;
  assert.deepEqual(problems, ['hot tier: query took longer than 5 s; narrow the time range or add filters']);
});
