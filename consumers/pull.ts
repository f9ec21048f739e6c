// The loop both writers share: pull messages from the writer's durable
// consumer, decode them, hand a batch to the writer's sink, and ack only after
// the sink says the batch is durable. Undecodable messages (and ones the
// writer's `prepare` rejects) go to the dead-letter subject with the reason and
// are acked, so one bad message never stalls a writer.
import { headers, type Consumer, type JetStreamClient, type JsMsg } from 'nats';
import { decodeFlowColumns, type FlowColumns } from '../common/flow.js';
import { DEAD_LETTER_PREFIX, STREAM } from '../common/stream.js';
import type { Logger } from '../common/log.js';
import { Counter, type Registry } from '../common/metrics.js';

/** The records of one stream message, with what a sink needs to deduplicate redeliveries. */
export interface StreamMessage<P = undefined> {
  seq: number;
  /** True when JetStream delivered it before (a previous attempt may have stored it). */
  redelivered: boolean;
  /** The records as columns, and the checker that published them (flows.collector_id). */
  flows: FlowColumns;
  /** What PullOptions.prepare made of the message (absent without prepare). */
  prepared?: P;
}

export interface Sink<P = undefined> {
  /** Stores the batch (one message per sequence) durably, or throws; the messages are acked only when it resolves. */
  write(messages: StreamMessage<P>[]): Promise<void>;
}

export interface PullOptions<P = undefined> {
  durable: string;
  /** Records per sink write (the PRD's batch_size). */
  batchSize: number;
  /** Longest a record waits for its batch to fill. */
  maxWaitMs: number;
  /** Writer name, used in the dead-letter subject. */
  writer: string;
  /**
   * Turns a decoded message into what the sink stores (validating it on the
   * way); throwing dead-letters the message with the error message as reason.
   */
  prepare?: (msg: StreamMessage) => P;
  /**
   * Tells JetStream this often that held messages are still being worked on,
   * so a long write is not redelivered to another instance meanwhile. Keep it
   * well below the consumer's ack_wait. Unset: no heartbeat.
   */
  heartbeatMs?: number;
}

/** A batch pulled and decoded, waiting for its write. */
interface Pulled<P> {
  pending: JsMsg[];
  messages: StreamMessage<P>[];
  count: number;
  heartbeat: NodeJS.Timeout | undefined;
}

export class PullLoop<P = undefined> {
  private running = false;
  private done: Promise<void> | undefined;
  private readonly received: Counter;
  private readonly deadLettered: Counter;
  private readonly writeErrors: Counter;
  private readonly streamLost: Counter;
  /** The stream sequence after the newest one delivered to this instance (where a gap would start). */
  private nextSeq = 1;
  private fetching: { stop(): void } | undefined;
  /** Records per stream message, on average lately (sizes the next fetch). */
  private recordsPerMessage: number | undefined;
  private fetchBackoff = 500;

  constructor(private readonly js: JetStreamClient, private readonly sink: Sink<P>, private readonly opts: PullOptions<P>, private readonly log: Logger, registry: Registry) {
    this.received = new Counter({ name: 'netflow_writer_records_total', help: 'records pulled from the stream', registers: [registry] });
    this.deadLettered = new Counter({ name: 'netflow_writer_dead_letters_total', help: 'messages sent to the dead-letter subject', labelNames: ['reason'], registers: [registry] });
    this.writeErrors = new Counter({ name: 'netflow_writer_write_errors_total', help: 'failed sink writes (retried)', registers: [registry] });
    this.streamLost = new Counter({ name: 'netflow_writer_stream_lost_messages_total', help: 'stream messages the stream\'s limits (max_bytes, max_age) removed before this writer read them', registers: [registry] });
  }

  start(): void {
    this.running = true;
    this.done = this.loop();
  }

  /** Stops pulling; the batch in hand is written and acked first. */
  async stop(): Promise<void> {
    this.running = false;
    // A fetch waits up to the batch window (minutes for the cold tier): end it now.
    this.fetching?.stop();
    await this.done;
  }

  private async loop(): Promise<void> {
    const consumer = await this.js.consumers.get(STREAM, this.opts.durable);
    this.nextSeq = (await consumer.info()).ack_floor.stream_seq + 1;
    // The previous batch is written (and acked) while the next one is pulled
    // and decoded, so the sink's engine and this thread work at once. Writes
    // stay one at a time and in order; at most one batch waits behind them.
    let writing: Promise<void> = Promise.resolve();
    while (this.running) {
      const batch = await this.collect(consumer);
      await writing;
      if (batch) writing = this.writeAndAck(batch);
    }
    await writing;
  }

  /** One batch: up to batchSize records, or what came within maxWaitMs. */
  private async collect(consumer: Consumer): Promise<Pulled<P> | undefined> {
    const pending: JsMsg[] = [];
    const messages: StreamMessage<P>[] = [];
    /** Sequences of this batch: true when handed to the sink, false when dead-lettered. */
    const seqs = new Map<number, boolean>();
    let count = 0;
    const deadline = Date.now() + this.opts.maxWaitMs;
    const heartbeat = this.opts.heartbeatMs ? setInterval(() => { for (const m of pending) m.working(); }, this.opts.heartbeatMs) : undefined;
    try {
      while (this.running && count < this.opts.batchSize && Date.now() < deadline) {
        // As many messages as the batch still needs records, by the size messages have had.
        const want = Math.min(256, Math.max(1, Math.ceil((this.opts.batchSize - count) / (this.recordsPerMessage ?? this.opts.batchSize))));
        const iter = await consumer.fetch({ max_messages: want, expires: Math.max(1000, deadline - Date.now()) });
        this.fetching = iter;
        // Only collect while the fetch runs: it ends at its expiry whether or
        // not the messages the server already sent were read, and those wait
        // out ack_wait. Decoding here made a slow batch strand most of a fetch.
        const fetched: JsMsg[] = [];
        for await (const m of iter) fetched.push(m);
        await this.countRemoved(fetched);
        for (const m of fetched) {
          // A message can come twice in one batch: JetStream redelivers it once
          // its ack_wait runs out, and a starved process may not have read (and
          // so kept alive) the first copy by then. Both copies are acked; the
          // sink gets one. A copy of a dead-lettered message is left alone: the
          // dead-letter path acks the message once its publish succeeds.
          const kept = seqs.get(m.seq);
          if (kept !== undefined) { if (kept) pending.push(m); continue; }
          const decoded = this.decode(m);
          seqs.set(m.seq, decoded !== undefined);
          if (!decoded) continue;
          pending.push(m);
          messages.push(decoded);
          const rows = decoded.flows.rows;
          count += rows;
          this.recordsPerMessage = this.recordsPerMessage === undefined ? Math.max(1, rows) : Math.max(1, 0.8 * this.recordsPerMessage + 0.2 * rows);
        }
      }
      this.fetchBackoff = 500;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'fetch from stream failed; retrying');
      await sleep(this.fetchBackoff);
      this.fetchBackoff = Math.min(this.fetchBackoff * 2, 30_000);
    }
    if (!messages.length) { clearInterval(heartbeat); return undefined; }
    return { pending, messages, count, heartbeat };
  }

  /**
   * Retries the write until it succeeds or we are stopped: the messages stay
   * unacked, so JetStream redelivers them to whoever pulls next if we die.
   */
  private async writeAndAck(b: Pulled<P>): Promise<void> {
    let backoff = 500;
    try {
      for (;;) {
        try {
          await this.sink.write(b.messages);
          break;
        } catch (err) {
          this.writeErrors.inc();
          this.log.error({ err: (err as Error).message, records: b.count }, 'writing a batch failed; retrying');
          for (const m of b.pending) m.working();
          await sleep(backoff);
          backoff = Math.min(backoff * 2, 30_000);
          if (!this.running) return;
        }
      }
      for (const m of b.pending) m.ack();
      this.received.inc(b.count);
    } finally {
      clearInterval(b.heartbeat);
    }
  }

  private decode(m: JsMsg): StreamMessage<P> | undefined {
    let msg: StreamMessage<P>;
    try {
      msg = { seq: m.seq, redelivered: m.redelivered, flows: decodeFlowColumns(m.data) };
    } catch (err) {
      this.deadLetter(m, 'decode', `not a FlowBatch: ${(err as Error).message}`);
      return undefined;
    }
    if (!this.opts.prepare) return msg;
    try {
      msg.prepared = this.opts.prepare(msg as StreamMessage);
      return msg;
    } catch (err) {
      this.deadLetter(m, 'invalid', (err as Error).message);
      return undefined;
    }
  }

  /**
   * The stream keeps a bounded window (Limits retention, discard old): a
   * writer further behind than it holds finds the messages it had not read
   * removed. JetStream just delivers the next one, so the loss would go
   * unseen; it shows as a gap in the sequences delivered here that the
   * stream no longer has (a gap the stream still has went to another
   * instance of this writer). Counted and logged, since nothing can bring
   * those messages back.
   */
  private async countRemoved(fetched: JsMsg[]): Promise<void> {
    const gaps: [number, number][] = [];
    for (const m of fetched) {
      if (m.seq > this.nextSeq) gaps.push([this.nextSeq, m.seq]);
      this.nextSeq = Math.max(this.nextSeq, m.seq + 1);
    }
    if (!gaps.length) return;
    let first: number;
    try {
      first = (await (await this.js.streams.get(STREAM)).info()).state.first_seq;
    } catch (err) {
      // Only an account of what is gone: the messages in hand are written regardless.
      this.log.warn({ err: (err as Error).message }, 'could not read the stream state to count removed messages');
      return;
    }
    for (const [from, to] of gaps) {
      const removed = Math.min(first, to) - from;
      if (removed <= 0) continue;
      this.streamLost.inc(removed);
      this.log.error({ from_seq: from, to_seq: from + removed - 1, messages: removed }, 'stream messages were removed by the stream limits (max_bytes, max_age) before this writer read them: raise the limits or add writer capacity');
    }
  }

  private deadLetter(m: JsMsg, kind: 'decode' | 'invalid', reason: string): void {
    const h = headers();
    // Header values are one line; a reason quoting a bad record must not break that.
    h.set('reason', reason.replace(/[\r\n]+/g, ' ').slice(0, 1000));
    h.set('stream-seq', String(m.seq));
    h.set('writer', this.opts.writer);
    this.js.publish(`${DEAD_LETTER_PREFIX}.${this.opts.writer}`, m.data, { headers: h }).then(
      () => m.ack(),
      (e) => { this.log.error({ err: (e as Error).message, seq: m.seq }, 'dead-letter publish failed; leaving message unacked'); },
    );
    this.deadLettered.inc({ reason: kind });
    this.log.warn({ seq: m.seq, reason }, 'dead-lettered a message');
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
