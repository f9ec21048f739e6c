// Reads back everything on netflow.raw, for tests that count what arrived.
import { AckPolicy, DeliverPolicy, nanos, type NatsConnection } from 'nats';
import { decodeBatch, type FlowRecord } from '../../common/flow.js';
import { STREAM } from '../../common/stream.js';

export interface StreamContents { messages: number; records: FlowRecord[]; collectors: Set<string>; byCollector: Map<string, FlowRecord[]> }

/** Every record in the NETFLOW stream now, through an ephemeral pull consumer (nats-server 2.9 has no ordered-consumer API). */
export async function readStream(nc: NatsConnection): Promise<StreamContents> {
  const jsm = await nc.jetstreamManager();
  const out: StreamContents = { messages: 0, records: [], collectors: new Set(), byCollector: new Map() };
  const state = (await jsm.streams.info(STREAM)).state;
  if (!state.messages) return out;
  const info = await jsm.consumers.add(STREAM, { ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All, inactive_threshold: nanos(60_000) });
  const consumer = await nc.jetstream().consumers.get(STREAM, info.name);
  // Until the last sequence the stream had when we started (num_pending can read 0 early).
  let seq = 0;
  while (seq < state.last_seq) {
    // Asking for no more than remain ends the fetch on the last one instead of at expiry.
    const iter = await consumer.fetch({ max_messages: Math.max(1, Math.min(1000, state.messages - out.messages)), expires: 5000 });
    let got = 0;
    for await (const m of iter) {
      const batch = decodeBatch(m.data);
      out.messages++;
      out.collectors.add(batch.collector_id);
      const mine = out.byCollector.get(batch.collector_id) ?? [];
      out.byCollector.set(batch.collector_id, mine);
      for (const r of batch.records) { out.records.push(r); mine.push(r); }
      seq = m.seq;
      got++;
    }
    if (!got) throw new Error(`stream read stalled at sequence ${seq} of ${state.last_seq}`);
  }
  await jsm.consumers.delete(STREAM, info.name);
  return out;
}
