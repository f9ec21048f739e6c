// The traffic status a poller's netflow check gets (and GET /api/netflow/status):
// flows and bytes in the last 5 minutes, top talkers, each writer's lag behind
// the NETFLOW stream, and each tier's health. The pipeline is "stalled" (and
// the check unavailable) when a writer has messages waiting and has not
// acknowledged any for `stallAfterMs`, or when the hot tier cannot answer.
import type { JetStreamManager } from 'nats';
import { CONSUMERS, STREAM } from '../../common/stream.js';
import type { Logger } from '../../common/log.js';
import type { CheckerStatus } from '../../common/grpc.js';
import type { ColdTier, Planner } from '../query/planner.js';
import type { Query } from '../query/model.js';

const WINDOW_MS = 5 * 60_000;
/** Repeated checks within this reuse the last answer, so pollers cannot load the stores. */
const CACHE_MS = 2000;
/** A check answers within an agent's patience, not the dashboard's query_timeout; the cold tier's health has the same limit. */
const CHECK_TIMEOUT_MS = 5000;

interface WriterProgress { ackFloor: number; changedAt: number }

export interface StatusOptions {
  planner: Planner;
  cold: ColdTier;
  /** Undefined when NATS is not configured or not reachable yet. */
  jsm: () => JetStreamManager | undefined;
  stallAfterMs: number;
  log: Logger;
  now?: () => number;
}

export class PipelineStatus {
  private readonly now: () => number;
  private readonly progress = new Map<string, WriterProgress>();
  private cached: { at: number; value: Promise<CheckerStatus> } | undefined;

  constructor(private readonly opts: StatusOptions) {
    this.now = opts.now ?? Date.now;
  }

  get(): Promise<CheckerStatus> {
    const now = this.now();
    if (!this.cached || now - this.cached.at >= CACHE_MS) this.cached = { at: now, value: this.collect() };
    return this.cached.value;
  }

  private async collect(): Promise<CheckerStatus> {
    const now = this.now();
    const problems: string[] = [];
    const [traffic, talkers, cold, writers] = await Promise.all([
      this.hot(now, [], 'bytes', null).catch((err) => { problems.push(`hot tier: ${(err as Error).message}`); return undefined; }),
      this.hot(now, ['src_ip'], 'bytes', 5).catch(() => undefined),
      this.coldHealth(now).catch((err) => { problems.push(`cold tier: ${(err as Error).message}`); return { ok: false }; }),
      this.writers(now, problems),
    ]);
    const total = traffic?.[0] as { bytes?: number; packets?: number; flows?: number } | undefined;
    const stalled = problems.length > 0;
    const message = {
      status: stalled ? 'stalled' : (total?.flows ?? 0) > 0 ? 'ok' : 'idle',
      window_s: WINDOW_MS / 1000,
      flows_5m: total?.flows ?? null,
      bytes_5m: total?.bytes ?? null,
      packets_5m: total?.packets ?? null,
      bits_per_s: total ? Math.round(((total.bytes ?? 0) * 8) / (WINDOW_MS / 1000)) : null,
      flows_per_s: total ? Math.round(((total.flows ?? 0) / (WINDOW_MS / 1000)) * 10) / 10 : null,
      top_talkers: (talkers ?? []).filter((r) => !r.other).map((r) => ({ src_ip: r.src_ip, bytes: r.bytes, packets: r.packets, flows: r.flows })),
      writers,
      tiers: { clickhouse: { ok: traffic !== undefined }, iceberg: cold },
      problems,
      checked_at: new Date(now).toISOString(),
    };
    return { available: !stalled, message };
  }

  private async hot(now: number, groupBy: Query['groupBy'], metric: Query['metric'], limit: number | null) {
    const q: Query = {
      startMs: now - WINDOW_MS, endMs: now, groupBy, byTime: false, interval: null, filters: [], metric, limit,
      order: 'desc', asOf: null, format: 'json', tier: 'realtime',
    };
    return (await this.opts.planner.run(q, { timeoutMs: CHECK_TIMEOUT_MS })).rows;
  }

  private async coldHealth(now: number): Promise<Record<string, unknown>> {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), CHECK_TIMEOUT_MS);
    try {
      const snap = await this.opts.cold.snapshot(null, ctl.signal);
      return {
        ok: true,
        snapshot_id: snap.snapshotId,
        complete_before: snap.completeBeforeMs === null ? null : new Date(snap.completeBeforeMs).toISOString(),
        behind_s: snap.completeBeforeMs === null ? null : Math.round((now - snap.completeBeforeMs) / 1000),
      };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Each writer's consumer: messages behind the stream, seconds behind, and whether it moves. */
  private async writers(now: number, problems: string[]): Promise<Record<string, unknown> | null> {
    const jsm = this.opts.jsm();
    if (!jsm) return null;
    const out: Record<string, unknown> = {};
    let last: number, first: number;
    try {
      ({ last_seq: last, first_seq: first } = (await jsm.streams.info(STREAM)).state);
    } catch (err) {
      problems.push(`stream ${STREAM}: ${(err as Error).message}`);
      return null;
    }
    for (const durable of Object.values(CONSUMERS)) {
      try {
        const ci = await jsm.consumers.info(STREAM, durable);
        const floor = ci.ack_floor.stream_seq;
        const behind = ci.num_pending + ci.num_ack_pending;
        const seen = this.progress.get(durable);
        if (!seen || seen.ackFloor !== floor) this.progress.set(durable, { ackFloor: floor, changedAt: now });
        const stuckMs = behind > 0 ? now - (this.progress.get(durable)!.changedAt) : 0;
        let lagS: number | null = 0;
        if (behind > 0 && floor < last) {
          // The oldest message it has not acknowledged: how long ago it entered the stream.
          lagS = await jsm.streams.getMessage(STREAM, { seq: floor + 1 })
            .then((m) => Math.max(0, Math.round((now - m.time.getTime()) / 1000)), () => null);
        }
        // Messages the stream's limits removed before this writer acknowledged them: gone from its tier.
        const removed = Math.max(0, first - 1 - floor);
        const state = stuckMs >= this.opts.stallAfterMs ? 'stalled' : behind > 0 ? 'behind' : 'caught_up';
        if (state === 'stalled') problems.push(`${durable}: ${behind} messages waiting, none acknowledged for ${Math.round(stuckMs / 1000)} s`);
        if (removed > 0) problems.push(`${durable}: ${removed} messages were removed by the stream's limits before it read them (raise stream.max_bytes / max_age, or add writer capacity)`);
        out[durable] = { state, messages_behind: behind, lag_s: lagS, ack_floor: floor, removed_unread: removed, waiting_pulls: ci.num_waiting };
      } catch (err) {
        out[durable] = { state: 'missing' };
        problems.push(`${durable}: consumer not found on ${STREAM} (${(err as Error).message})`);
      }
    }
    return out;
  }
}
