// Reads back everything on netflow.raw, for tests that count what arrived.
import { AckPolicy, DeliverPolicy, nanos, type NatsConnection } from 'nats';
import { decodeBatch, type FlowRecord } from '../../common/flow.js';
import { STREAM } from '../../common/stream.js';

export interface StreamContents { messages: number; records: FlowRecord[]; collectors: Set<string> }

/** Every record in the NETFLOW stream now, through an ephemeral pull consumer (nats-server 2.9 has no ordered-consumer API). */
export async function readStream(nc: NatsConnection): Promise<StreamContents> {
  const jsm = await nc.jetstreamManager();
  const out: StreamContents = { messages: 0, records: [], collectors: new Set() };
  let left = (await jsm.streams.info(STREAM)).state.messages;
  if (!left) return out;
  const info = await jsm.consumers.add(STREAM, { ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All, inactive_threshold: nanos(60_000) });
  const consumer = await nc.jetstream().consumers.get(STREAM, info.name);
  while (left > 0) {
    const iter = await consumer.fetch({ max_messages: Math.min(left, 1000), expires: 5000 });
    let got = 0;
    for await (const m of iter) {
      const batch = decodeBatch(m.data);
      out.messages++;
      out.collectors.add(batch.collector_id);
      for (const r of batch.records) out.records.push(r);
      left = m.info.pending;
      got++;
    }
    if (!got) throw new Error(`stream read stalled with ${left} messages left`);
  }
  await jsm.consumers.delete(STREAM, info.name);
  return out;
}
