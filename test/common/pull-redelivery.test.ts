// JetStream redelivers a message once its ack_wait runs out, even while the
// first copy still sits in a batch being filled. With no heartbeat, a 1 s
// ack_wait and a 3.5 s batch window, the three messages published come again
// before the batch closes: the sink must get each sequence once, and every
// copy must be acked (nothing is pending afterwards, no batch follows).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from 'nats';
import { encodeBatch } from '../../common/flow.js';
import { createLogger } from '../../common/log.js';
import { createRegistry } from '../../common/metrics.js';
import { ensureConsumer, ensureStream, STREAM, SUBJECT } from '../../common/stream.js';
import { PullLoop, type StreamMessage } from '../../consumers/pull.js';
import { makeFlows } from '../helpers/iceberg-flows.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { waitFor } from '../helpers/process.js';

const log = createLogger('test', 'silent');
let server: NatsServer;
let nc: NatsConnection;
before(async () => { server = await startNatsServer(); nc = await connect({ servers: server.url }); });
after(async () => { await nc.close(); await server.destroy(); });

test('a message redelivered into the batch it is already in reaches the sink once, and every copy is acked', async () => {
  const jsm = await nc.jetstreamManager();
  await ensureStream(jsm, { max_bytes: 64 * 1024 * 1024, max_age_ms: 3_600_000, replicas: 1 }, log);
  await ensureConsumer(jsm, 'redelivery', { ack_wait_ms: 1000, max_ack_pending: 1000 });
  const js = nc.jetstream();
  for (let i = 0; i < 3; i++) await js.publish(SUBJECT, encodeBatch({ records: makeFlows(10, { seed: i, startMs: Date.now() - 60_000 }), collector_id: 'test' }));

  const batches: number[][] = [];
  const sink = { write: async (messages: StreamMessage[]) => { batches.push(messages.map((m) => m.seq)); } };
  const loop = new PullLoop(js, sink, { durable: 'redelivery', batchSize: 1_000_000, maxWaitMs: 3500, writer: 'test' }, log, createRegistry('test'));
  loop.start();
  try {
    await waitFor('the first batch', () => batches.length > 0, 15_000, 50);
    await new Promise((r) => setTimeout(r, 2500)); // a copy left unacked would come back after ack_wait, in a second batch
  } finally {
    await loop.stop();
  }
  const info = await jsm.consumers.info(STREAM, 'redelivery');
  assert.ok(info.delivered.consumer_seq > 3, `JetStream redelivered during the batch (${info.delivered.consumer_seq} deliveries of 3 messages)`);
  assert.deepEqual(batches, [[1, 2, 3]]);
  assert.equal(info.num_ack_pending, 0);
});
