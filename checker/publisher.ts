// Decoded records -> FlowBatch messages on JetStream, acknowledged.
//
// Records collect in an open batch, sealed (encoded) at batch_size or after
// the linger time, and wait in a bounded queue for one of max_in_flight
// publish slots.
// A batch is retried (same Nats-Msg-Id, so JetStream drops the duplicate when
// an earlier attempt did land) until it is acknowledged; while NATS is down
// nothing is sent and the queue absorbs the records. When the queue is full
// the policy decides: block (the caller stops reading), drop_oldest, or
// drop_newest. Every record is accounted for:
//   received = published + dropped.queue_full + dropped.shutdown + queued + in_flight
import { encodeBatch, type FlowRecord } from '../common/flow.js';
import type { Logger } from '../common/log.js';
import type { NatsLink } from '../common/nats.js';
import { SUBJECT } from '../common/stream.js';
import type { DropPolicy } from './config.js';

/** Where batches go: JetStream in production (see service.ts). */
export interface Transport {
  connected(): boolean;
  /** Largest message the server accepts. */
  maxPayload(): number;
  /** Resolves once the stream has stored the message (or already had it). */
  publish(data: Uint8Array, msgId: string): Promise<{ duplicate: boolean }>;
}

/**
 * Publishes to netflow.raw on `link`, resolving on the JetStream ack.
 * `onNoResponders`: nothing stores the subject (the stream was deleted, or a
 * server came back without its storage), so the caller can recreate it.
 */
export function jetStreamTransport(link: NatsLink, timeoutMs: number, onNoResponders: () => void): Transport {
  const js = link.nc.jetstream({ timeout: timeoutMs });
  return {
    connected: () => link.state() === 'connected',
    maxPayload: () => link.nc.info?.max_payload ?? 1024 * 1024,
    publish: async (data, msgId) => {
      try {
        const ack = await js.publish(SUBJECT, data, { msgID: msgId, timeout: timeoutMs });
        return { duplicate: ack.duplicate };
      } catch (err) {
        if ((err as { code?: string }).code === '503') onNoResponders();
        throw err;
      }
    },
  };
}

export interface PublisherOptions {
  collectorId: string;
  batchSize: number;
  lingerMs: number;
  /** Records held waiting to be sent (open, sealed and retried batches). */
  queueSize: number;
  policy: DropPolicy;
  maxInFlight: number;
}

export interface PublisherStats {
  received: number;
  published: number;
  batches_published: number;
  /** Acks that said an earlier attempt of the batch had already been stored. */
  duplicate_acks: number;
  dropped: { queue_full: number; shutdown: number };
  queued: number;
  in_flight: number;
  in_flight_batches: number;
  retries: number;
  publish_errors: Record<string, number>;
  last_error: string;
  last_ack_ms: number;
}

/**
 * An encoded batch. Batches are encoded when sealed, not when sent: a queue of
 * bytes costs a third of the memory of a queue of record objects and nothing
 * to the garbage collector, which matters most when NATS falls behind.
 */
interface Batch { id: string; count: number; data: Uint8Array }

const MAX_BACKOFF_MS = 5000;
/** NATS's default max_payload, until the server says otherwise. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

export class Publisher {
  private open: FlowRecord[] = [];
  private lingerTimer: NodeJS.Timeout | undefined;
  /** Never attempted; droppable. */
  private readonly sealed: Batch[] = [];
  /** Attempted and unconfirmed: never dropped, since the stream may hold them already. */
  private readonly retry: Batch[] = [];
  private readonly inFlight = new Set<Batch>();
  private queued = 0;
  private inFlightRecords = 0;
  private transport: Transport | undefined;
  private backoffMs = 0;
  private backoffUntil = 0;
  private wakeTimer: NodeJS.Timeout | undefined;
  private nextId = 0;
  private readonly idPrefix: string;
  private idleWaiters: Array<() => void> = [];
  private roomListener: (() => void) | undefined;
  private readonly counts = {
    received: 0, published: 0, batches_published: 0, duplicate_acks: 0, retries: 0,
    dropped: { queue_full: 0, shutdown: 0 }, publish_errors: {} as Record<string, number>, last_error: '', last_ack_ms: 0,
  };

  constructor(private readonly opts: PublisherOptions, private readonly log: Logger) {
    // Unique across restarts of this collector: JetStream deduplicates by id.
    this.idPrefix = `${opts.collectorId}:${Date.now().toString(36)}:`;
  }

  /** Starts (or resumes, after a reconnect) sending to `transport`. */
  attach(transport: Transport): void {
    this.transport = transport;
    // Connection state changes are not events here: poll cheaply while work waits.
    if (!this.wakeTimer) this.wakeTimer = setInterval(() => this.pump(), 200);
    this.pump();
  }

  /** Called when a full queue (block policy) has room again. */
  onRoom(listener: () => void): void {
    this.roomListener = listener;
  }

  /**
   * Takes the records of one datagram. Returns false when the queue is full
   * afterwards: under the block policy the caller should stop reading until onRoom.
   */
  offer(records: FlowRecord[]): boolean {
    const n = records.length;
    if (!n) return this.hasRoom();
    this.counts.received += n;
    if (this.queued + n > this.opts.queueSize && this.opts.policy !== 'block') {
      if (this.opts.policy === 'drop_oldest') this.dropOldest(this.queued + n - this.opts.queueSize);
      if (this.queued + n > this.opts.queueSize) {
        this.counts.dropped.queue_full += n;
        return false;
      }
    }
    this.queued += n;
    for (const r of records) {
      this.open.push(r);
      if (this.open.length === this.opts.batchSize) this.sealOpen();
    }
    if (this.open.length && !this.lingerTimer) this.lingerTimer = setTimeout(() => { this.lingerTimer = undefined; this.sealOpen(); this.pump(); }, this.opts.lingerMs);
    this.pump();
    return this.hasRoom();
  }

  hasRoom(): boolean {
    return this.queued < this.opts.queueSize;
  }

  /**
   * Seals the open batch and waits until everything is acknowledged or
   * `timeoutMs` passes; what is still queued then is counted as dropped.
   * Resolves true when nothing was left.
   */
  async flush(timeoutMs: number): Promise<boolean> {
    this.sealOpen();
    this.pump();
    if (this.idle()) return true;
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true))),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); }),
    ]);
    clearTimeout(timer);
    if (!drained) {
      this.log.error({ queued: this.queued, in_flight: this.inFlightRecords }, 'stopping with records not acknowledged by JetStream');
      this.counts.dropped.shutdown += this.queued;
      this.sealed.length = 0;
      this.retry.length = 0;
      this.open = [];
      this.queued = 0;
    }
    return drained;
  }

  /** Stops timers; call after flush. */
  close(): void {
    clearTimeout(this.lingerTimer);
    clearInterval(this.wakeTimer);
    this.lingerTimer = undefined;
    this.wakeTimer = undefined;
    this.transport = undefined;
  }

  stats(): PublisherStats {
    const c = this.counts;
    return {
      received: c.received, published: c.published, batches_published: c.batches_published, duplicate_acks: c.duplicate_acks,
      dropped: { ...c.dropped }, queued: this.queued, in_flight: this.inFlightRecords, in_flight_batches: this.inFlight.size,
      retries: c.retries, publish_errors: { ...c.publish_errors }, last_error: c.last_error, last_ack_ms: c.last_ack_ms,
    };
  }

  private sealOpen(): void {
    if (!this.open.length) return;
    this.encode(this.open, this.idPrefix + (this.nextId++).toString(36));
    this.open = [];
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
  }

  private encode(records: FlowRecord[], id: string): void {
    const data = encodeBatch({ records, collector_id: this.opts.collectorId });
    if (data.length > (this.transport?.maxPayload() ?? DEFAULT_MAX_PAYLOAD) && records.length > 1) {
      // Rare (a large batch_size of IPv6 records against a small max_payload): halves.
      const half = records.length >> 1;
      this.encode(records.slice(0, half), `${id}a`);
      this.encode(records.slice(half), `${id}b`);
      return;
    }
    this.sealed.push({ id, count: records.length, data });
  }

  /** Frees at least `need` records of room, oldest never-sent records first. */
  private dropOldest(need: number): void {
    let freed = 0;
    while (freed < need && this.sealed.length) {
      const b = this.sealed.shift()!;
      freed += b.count;
      this.counts.dropped.queue_full += b.count;
    }
    if (freed < need && this.open.length) {
      const k = Math.min(need - freed, this.open.length);
      this.open.splice(0, k);
      freed += k;
      this.counts.dropped.queue_full += k;
    }
    this.queued -= freed;
  }

  private pump(): void {
    const t = this.transport;
    if (!t || !t.connected() || Date.now() < this.backoffUntil) return;
    while (this.inFlight.size < this.opts.maxInFlight) {
      const batch = this.retry.shift() ?? this.sealed.shift();
      if (!batch) break;
      this.send(t, batch);
    }
  }

  private send(t: Transport, batch: Batch): void {
    const n = batch.count;
    this.queued -= n;
    this.inFlightRecords += n;
    this.inFlight.add(batch);
    t.publish(batch.data, batch.id).then(
      (ack) => {
        this.settle(batch);
        this.counts.published += n;
        this.counts.batches_published++;
        if (ack.duplicate) this.counts.duplicate_acks++;
        this.counts.last_ack_ms = Date.now();
        this.backoffMs = 0;
        this.afterChange();
      },
      (err: unknown) => {
        this.settle(batch);
        this.queued += n;
        this.retry.push(batch);
        this.counts.retries++;
        this.noteError(err);
        this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs ? this.backoffMs * 2 : 100);
        this.backoffUntil = Date.now() + this.backoffMs;
        this.afterChange();
      },
    );
  }

  private settle(batch: Batch): void {
    this.inFlight.delete(batch);
    this.inFlightRecords -= batch.count;
  }

  private afterChange(): void {
    this.pump();
    if (this.roomListener && this.queued <= Math.max(0, this.opts.queueSize - this.opts.batchSize)) this.roomListener();
    if (this.idle() && this.idleWaiters.length) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private idle(): boolean {
    return this.queued === 0 && this.inFlight.size === 0;
  }

  private noteError(err: unknown): void {
    const e = err as { code?: string; api_error?: { err_code?: number }; message?: string };
    const kind = e.api_error?.err_code ? `jetstream_${e.api_error.err_code}` : e.code ? String(e.code).toLowerCase() : 'other';
    this.counts.publish_errors[kind] = (this.counts.publish_errors[kind] ?? 0) + 1;
    this.counts.last_error = e.message ?? String(err);
  }
}
