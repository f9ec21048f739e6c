// Reads back everything on netflow.raw, for tests that count what arrived.
import { AckPolicy, DeliverPolicy, nanos, type NatsConnection } from 'nats';
import { decodeBatch, type FlowRecord } from '../../common/flow.js';
import { STREAM } from '../../common/stream.js';

export interface StreamContents { messages: number; records: FlowRecord[]; collectors: Set<string>; byCollector: Map<string, FlowRecord[]> }

/**
 * Every record in the NETFLOW stream now, through an ephemeral pull consumer
 * (nats-server 2.9 has no ordered-consumer API). Explicit acks: a message
 * delivered to a fetch that expired is redelivered, not lost, and counted once by sequence.
 */
export async function readStream(nc: NatsConnection): Promise<StreamContents> {
  const jsm = await nc.jetstreamManager();
  const out: StreamContents = { messages: 0, records: [], collectors: new Set(), byCollector: new Map() };
  const state = (await jsm.streams.info(STREAM)).state;
  if (!state.messages) return out;
  const info = await jsm.consumers.add(STREAM, {
    ack_policy: AckPolicy.Explicit, ack_wait: nanos(30_000), deliver_policy: DeliverPolicy.All, inactive_threshold: nanos(120_000),
  });
  const consumer = await nc.jetstream().consumers.get(STREAM, info.name);
  const seen = new Set<number>();
  let idle = 0;
  while (seen.size < state.messages) {
    const iter = await consumer.fetch({ max_messages: Math.max(1, Math.min(100, state.messages - seen.size)), expires: 10_000 });
    let got = 0;
    for await (const m of iter) {
      m.ack();
      got++;
      if (seen.has(m.seq) || m.seq > state.last_seq) continue;
      seen.add(m.seq);
      const batch = decodeBatch(m.data);
      out.messages++;
      out.collectors.add(batch.collector_id);
      const mine = out.byCollector.get(batch.collector_id) ?? [];
      out.byCollector.set(batch.collector_id, mine);
      for (const r of batch.records) { out.records.push(r); mine.push(r); }
    }
    idle = got ? 0 : idle + 1;
    if (idle > 6) throw new Error(`stream read stalled after ${seen.size} of ${state.messages} messages`);
  }
  await jsm.consumers.delete(STREAM, info.name);
  return out;
}
