// History for the demo: weeks of synthetic flows with past timestamps,
// published to the NETFLOW stream as the checker would, so both writers store
// them through their normal path. Runs once per data folder.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { JetStreamClient } from 'nats';
import { encodeBatch, type FlowRecord } from '../common/flow.js';
import { SUBJECT } from '../common/stream.js';
import type { Logger } from '../common/log.js';
import { rng, trafficModel } from './traffic.js';

const HOUR = 3_600_000;
const BATCH = 1000;

export interface BackfillOptions {
  days: number;
  /** Average flows per hour at the busiest time of day. */
  flowsPerHour: number;
  /** History ends here (ms); the live exporter takes over from then. */
  untilMs: number;
  exporter: string;
  /** 1 in N: the history is exported as a sampled router would, N times fewer records for the same traffic. */
  samplingRate: number;
  seed?: number;
}

/** What was sent; bytes and packets as exported (raw, not scaled by the sampling rate). */
export interface BackfillLedger { records: number; bytes: number; packets: number; samplingRate: number; fromMs: number; untilMs: number }

/** The backfill's flows, hour by hour, oldest first; a few hours carry a spike (a bulk transfer). */
export function* backfillFlows(opts: BackfillOptions): Generator<FlowRecord> {
  const model = trafficModel({ seed: opts.seed ?? 11, exporter: opts.exporter });
  const rand = rng((opts.seed ?? 11) + 1);
  const start = Math.floor((opts.untilMs - opts.days * 24 * HOUR) / HOUR) * HOUR;
  const spikes = new Set(Array.from({ length: Math.max(1, Math.round(opts.days / 7)) }, () => start + Math.floor(rand() * opts.days * 24) * HOUR));
  for (let hour = start; hour < opts.untilMs; hour += HOUR) {
    const end = Math.min(hour + HOUR, opts.untilMs);
    const n = Math.round(opts.flowsPerHour * model.rhythm(hour) * ((end - hour) / HOUR));
    for (let i = 0; i < n; i++) yield model.flow(hour + Math.floor(rand() * (end - hour)));
    if (spikes.has(hour)) {
      // One host pulling a backup: few flows, many bytes.
      for (let i = 0; i < 40; i++) {
        const f = model.flow(hour + Math.floor(rand() * (end - hour)));
        f.bytes *= 400; f.packets *= 400;
        yield f;
      }
    }
  }
}

/** Publishes the backfill unless this data folder already has it; returns what was sent. */
export async function backfill(js: JetStreamClient, markerFile: string, opts: BackfillOptions, log: Logger): Promise<BackfillLedger | undefined> {
  if (existsSync(markerFile)) {
    log.info({ marker: markerFile, ...JSON.parse(readFileSync(markerFile, 'utf8')) }, 'history already backfilled');
    return undefined;
  }
  const ledger: BackfillLedger = { records: 0, bytes: 0, packets: 0, samplingRate: opts.samplingRate, fromMs: opts.untilMs - opts.days * 24 * HOUR, untilMs: opts.untilMs };
  log.info({ days: opts.days }, 'backfilling history through the stream');
  let batch: FlowRecord[] = [];
  const inFlight: Promise<unknown>[] = [];
  const flush = async () => {
    if (!batch.length) return;
    inFlight.push(js.publish(SUBJECT, encodeBatch({ records: batch, collector_id: 'demo-backfill' })));
    batch = [];
    if (inFlight.length >= 64) await Promise.all(inFlight.splice(0));
  };
  for (const f of backfillFlows(opts)) {
    f.time_received = f.timestamp;
    f.sampling_rate = opts.samplingRate;
    batch.push(f);
    ledger.records++; ledger.bytes += f.bytes; ledger.packets += f.packets;
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  await Promise.all(inFlight);
  writeFileSync(markerFile, JSON.stringify(ledger));
  log.info(ledger, 'history backfilled');
  return ledger;
}
