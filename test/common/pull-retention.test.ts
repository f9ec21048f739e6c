// A writer further behind than the stream holds: the stream's limits remove
// messages it has not read, and the pull loop counts exactly those (from the
// stream's own first sequence, not from its own bookkeeping), while messages
// that went to another instance of the same writer are not counted.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from 'nats';
import { encodeBatch, type FlowRecord } from '../../common/flow.js';
import { createLogger } from '../../common/log.js';
import { createRegistry, type Registry } from '../../common/metrics.js';
import { CONSUMERS, ensureConsumer, ensureStream, STREAM, SUBJECT } from '../../common/stream.js';
import { PullLoop, type StreamMessage } from '../../consumers/pull.js';
import { PipelineStatus } from '../../core-extension/grpc/status.js';
import { Planner } from '../../core-extension/query/planner.js';
import { makeFlows } from '../helpers/iceberg-flows.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { waitFor } from '../helpers/process.js';

const log = createLogger('test', 'silent');
let server: NatsServer;
let nc: NatsConnection;
before(async () => { server = await startNatsServer(); nc = await connect({ servers: server.url }); });
after(async () => { await nc.close(); await server.destroy(); });

async function lost(registry: Registry): Promise<number> {
  return (await registry.getSingleMetric('netflow_writer_stream_lost_messages_total')!.get()).values[0]?.value ?? 0;
}

function startLoop(durable: string, seen: number[]): { loop: PullLoop; registry: Registry } {
  const registry = createRegistry('test');
  const sink = { write: async (messages: StreamMessage[]) => { for (const m of messages) seen.push(m.seq); } };
  const loop = new PullLoop(nc.jetstream(), sink, { durable, batchSize: 500, maxWaitMs: 300, writer: durable }, log, registry);
  loop.start();
  return { loop, registry };
}

async function publish(n: number, records: FlowRecord[]): Promise<void> {
  const js = nc.jetstream();
  for (let i = 0; i < n; i++) await js.publish(SUBJECT, encodeBatch({ records, collector_id: 'test' }));
}

test('messages the stream removed before the writer read them are counted, exactly', async () => {
  const jsm = await nc.jetstreamManager();
  // Room for a few dozen ~1.6 KB messages: most of 200 are removed before anyone reads them.
  await ensureStream(jsm, { max_bytes: 64 * 1024, max_age_ms: 3_600_000, replicas: 1 }, log);
  await ensureConsumer(jsm, CONSUMERS.clickhouse, { ack_wait_ms: 30_000, max_ack_pending: 1000 });
  await publish(200, makeFlows(16, { seed: 1, startMs: Date.now() - 60_000 }));
  const { state } = await jsm.streams.info(STREAM);
  assert.equal(state.last_seq, 200);
  assert.ok(state.first_seq > 100 && state.messages === 200 - state.first_seq + 1, `the stream kept ${state.first_seq}..200`);

  // Before the writer runs, the poller's status already tells (tiers are absent here: only the stream is asked).
  const absent = () => Promise.reject(new Error('no tier in this test'));
  const planner = new Planner({ hot: { aggregate: absent }, cold: { snapshot: absent }, realtimeThresholdMs: 86_400_000, timeoutMs: 1000, maxConcurrent: 1, log });
  const status = await new PipelineStatus({ planner, cold: { snapshot: absent }, jsm: () => jsm, stallAfterMs: 60_000, log }).get();
  const writer = (status.message as { writers: Record<string, { removed_unread: number }> }).writers[CONSUMERS.clickhouse];
  assert.equal(writer?.removed_unread, state.first_seq - 1);
  assert.ok((status.message as { problems: string[] }).problems.some((p) => p.startsWith(`${CONSUMERS.clickhouse}: ${state.first_seq - 1} messages were removed by the stream's limits`)));

  const seen: number[] = [];
  const { loop, registry } = startLoop(CONSUMERS.clickhouse, seen);
  await waitFor('the kept messages', async () => seen.length >= state.messages, 20_000, 50);
  // A later gap: the writer stopped, then more published than the stream holds.
  await loop.stop();
  await publish(200, makeFlows(16, { seed: 2, startMs: Date.now() - 60_000 }));
  const later = (await jsm.streams.info(STREAM)).state;
  const again = startLoop(CONSUMERS.clickhouse, seen);
  await waitFor('the kept messages after the gap', async () => seen.length >= state.messages + later.messages, 20_000, 50);
  await again.loop.stop();

  assert.deepEqual(seen, [...range(state.first_seq, 200), ...range(later.first_seq, 400)]);
  assert.equal(await lost(registry), state.first_seq - 1);
  assert.equal(await lost(again.registry), later.first_seq - 201);
});

test('sequences that went to another instance of the same writer are not counted as removed', async () => {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.delete(STREAM);
  await ensureStream(jsm, { max_bytes: 64 * 1024 * 1024, max_age_ms: 3_600_000, replicas: 1 }, log);
  await ensureConsumer(jsm, 'shared', { ack_wait_ms: 30_000, max_ack_pending: 1000 });
  const seen: number[] = [];
  const a = startLoop('shared', seen);
  const b = startLoop('shared', seen);
  await publish(300, makeFlows(4, { seed: 3, startMs: Date.now() - 60_000 }));
  await waitFor('every message once', async () => seen.length >= 300, 20_000, 50);
  await Promise.all([a.loop.stop(), b.loop.stop()]);
  assert.deepEqual([...seen].sort((x, y) => x - y), range(1, 300));
  assert.equal(await lost(a.registry) + await lost(b.registry), 0);
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
