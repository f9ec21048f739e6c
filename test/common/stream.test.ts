import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { RetentionPolicy, type NatsConnection } from 'nats';
import { connect } from 'nats';
import { ensureConsumer, ensureStream, StreamConflictError, STREAM, SUBJECT } from '../../common/stream.js';
import { createLogger } from '../../common/log.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';

const log = createLogger('test', 'silent');
let server: NatsServer;
let nc: NatsConnection;
before(async () => { server = await startNatsServer(); nc = await connect({ servers: server.url }); });
after(async () => { await nc.close(); await server.destroy(); });

test('creates the stream with limits retention and both writers see every message', async () => {
  const jsm = await nc.jetstreamManager();
  const info = await ensureStream(jsm, { max_bytes: 64 * 1024 * 1024, max_age_ms: 3_600_000, replicas: 1 }, log);
  assert.equal(info.config.retention, RetentionPolicy.Limits);
  assert.deepEqual(info.config.subjects, [SUBJECT]);
  assert.equal(info.config.max_bytes, 64 * 1024 * 1024);
  // Idempotent: a second service starting finds it.
  await ensureStream(jsm, { max_bytes: 64 * 1024 * 1024, max_age_ms: 3_600_000, replicas: 1 }, log);
  for (const d of ['a', 'b']) await ensureConsumer(jsm, d, { ack_wait_ms: 30_000, max_ack_pending: 1000 });
  const js = nc.jetstream();
  for (let i = 0; i < 5; i++) await js.publish(SUBJECT, new Uint8Array([i]));
  for (const d of ['a', 'b']) {
    const c = await js.consumers.get(STREAM, d);
    const seen: number[] = [];
    const iter = await c.fetch({ max_messages: 5, expires: 2000 });
    for await (const m of iter) { seen.push(m.data[0]!); m.ack(); }
    assert.deepEqual(seen, [0, 1, 2, 3, 4], `consumer ${d}`);
  }
});

test('a conflicting existing stream is reported, not changed', async () => {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.delete(STREAM);
  await jsm.streams.add({ name: STREAM, subjects: [SUBJECT], retention: RetentionPolicy.Workqueue });
  await assert.rejects(ensureStream(jsm, { max_bytes: 1 << 20, max_age_ms: 60_000, replicas: 1 }, log), (e: unknown) => e instanceof StreamConflictError && /workqueue/.test((e as Error).message));
  assert.equal((await jsm.streams.info(STREAM)).config.retention, RetentionPolicy.Workqueue);
});
