// The one place that knows the JetStream layout: stream NETFLOW on netflow.raw,
// its retention, and the durable pull consumer of each writer. The checker and
// every writer call ensureStream; whichever starts first creates what is missing.
//
// Retention is Limits, not the PRD's WorkQueue: a WorkQueue stream refuses a
// second consumer with overlapping subjects and hands each message to only one
// of them, but both writers must see every record. Each writer has its own
// durable consumer (several instances of one writer share it), and the stream
// keeps messages until max_bytes or max_age, whichever comes first, so a writer
// that is down loses nothing while the stream has room.
import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, nanos, type JetStreamManager, type StreamInfo } from 'nats';
import type { Logger } from './log.js';
import type { Schema } from './config.js';

export const STREAM = 'NETFLOW';
export const SUBJECT = 'netflow.raw';
export const STATUS_SUBJECT = 'netflow.status';
/** Messages a writer could not decode, with a `reason` header: `netflow.deadletter.<writer>`. */
export const DEAD_LETTER_STREAM = 'NETFLOW_DEADLETTER';
export const DEAD_LETTER_PREFIX = 'netflow.deadletter';

/** The durable consumer of each writer. */
export const CONSUMERS = { clickhouse: 'clickhouse-writer', iceberg: 'parquet-writer' } as const;

export interface StreamLimits {
  max_bytes: number;
  max_age_ms: number;
  replicas: number;
}

export const streamSchema: Schema<StreamLimits> = {
  max_bytes: { doc: 'bytes the NETFLOW stream buffers before dropping the oldest', format: 'positive-int', default: 1024 * 1024 * 1024 },
  max_age_ms: { doc: 'oldest message the stream keeps ("24h")', format: 'duration-ms', default: 24 * 3_600_000 },
  replicas: { doc: 'stream replicas (a NATS cluster needs 3)', format: 'positive-int', default: 1 },
};

export class StreamConflictError extends Error {
  override name = 'StreamConflictError';
}

/**
 * Creates the NETFLOW stream (and the dead-letter stream) when absent. An
 * existing stream whose layout contradicts ours is reported, never changed:
 * someone made it that way, and rewriting it could drop their data.
 */
export async function ensureStream(jsm: JetStreamManager, limits: StreamLimits, log: Logger): Promise<StreamInfo> {
  const info = await ensureOne(jsm, STREAM, [SUBJECT], limits, log);
  const conflicts: string[] = [];
  if (!info.config.subjects?.includes(SUBJECT)) conflicts.push(`subjects are ${JSON.stringify(info.config.subjects)}, not including ${SUBJECT}`);
  if (info.config.retention === RetentionPolicy.Workqueue) {
    conflicts.push('retention is workqueue, which hands each message to only one writer; recreate it with limits retention');
  }
  if (conflicts.length) throw new StreamConflictError(`existing stream ${STREAM} conflicts with serviceradar-netflow: ${conflicts.join('; ')}`);
  if (info.config.max_bytes !== limits.max_bytes || info.config.max_age !== nanos(limits.max_age_ms)) {
    log.warn({ stream: STREAM, max_bytes: info.config.max_bytes, max_age_ns: info.config.max_age }, 'existing stream limits differ from the configured ones; keeping the existing ones');
  }
  await ensureOne(jsm, DEAD_LETTER_STREAM, [`${DEAD_LETTER_PREFIX}.>`], { ...limits, max_bytes: Math.min(limits.max_bytes, 256 * 1024 * 1024) }, log);
  return info;
}

async function ensureOne(jsm: JetStreamManager, name: string, subjects: string[], limits: StreamLimits, log: Logger): Promise<StreamInfo> {
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  try {
    const info = await jsm.streams.add({
      name, subjects,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      storage: StorageType.File,
      max_bytes: limits.max_bytes,
      max_age: nanos(limits.max_age_ms),
      num_replicas: limits.replicas,
      duplicate_window: nanos(2 * 60_000),
    });
    log.info({ stream: name, subjects, max_bytes: limits.max_bytes, max_age_ms: limits.max_age_ms }, 'created stream');
    return info;
  } catch (err) {
    // Another service created it between our info and add.
    if (/already in use|name already/i.test((err as Error).message)) return jsm.streams.info(name);
    throw err;
  }
}

/** Creates (or finds) the durable pull consumer `durable` on NETFLOW. */
export async function ensureConsumer(jsm: JetStreamManager, durable: string, opts: { ack_wait_ms: number; max_ack_pending: number }): Promise<void> {
  try {
    await jsm.consumers.info(STREAM, durable);
    return;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  await jsm.consumers.add(STREAM, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: SUBJECT,
    ack_wait: nanos(opts.ack_wait_ms),
    max_ack_pending: opts.max_ack_pending,
    max_deliver: -1,
  });
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: string | number; api_error?: { err_code?: number }; message?: string };
  return e.api_error?.err_code === 10059 || e.api_error?.err_code === 10014 || e.code === '404' || e.code === 404 || /not found/i.test(e.message ?? '');
}
