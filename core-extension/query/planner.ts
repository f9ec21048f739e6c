// Which tier answers which part of a query's range. A range that starts within
// realtime_threshold of now goes to ClickHouse; one that reaches further back is
// split at a seam: Iceberg answers before it, ClickHouse from it on. The two
// parts share the seam instant, so nothing is missed or counted twice.
import type { Logger } from '../../common/log.js';
import { dayOf, MS_PER_DAY } from '../../consumers/iceberg/schema.js';
import { execute, type Part, type ResultRow } from './execute.js';
import { ParamError, filterText, intervalSeconds, intervalText, type AggregateEngine, type AsOf, type Query } from './model.js';

export interface ColdSnapshot {
  engine: AggregateEngine;
  snapshotId: string | null;
  /** Every record with a timestamp before this instant is in the snapshot; null = the table is empty. */
  completeBeforeMs: number | null;
}

export interface ColdTier {
  /** The current snapshot, or the one a query travels back to. */
  snapshot(asOf: AsOf | null, signal: AbortSignal): Promise<ColdSnapshot>;
}

export interface QueryAnswer {
  columns: string[];
  rows: ResultRow[];
  meta: {
    backend: 'clickhouse' | 'iceberg' | 'iceberg+clickhouse';
    tables: string[];
    start: string;
    end: string;
    interval_s: number | null;
    interval: string | null;
    metric: string;
    group_by: string[];
    filters: string[];
    order: string;
    limit: number | null;
    rows_read: number;
    snapshot_id?: string | null;
    /** Where the range was split between the tiers. */
    boundary?: string;
  };
}

export class QueryTimeoutError extends Error {
  override name = 'QueryTimeoutError';
}

/** A tier failed to answer; the message is for users (details are logged). */
export class TierUnavailableError extends Error {
  override name = 'TierUnavailableError';
}

export interface PlannerOptions {
  hot: AggregateEngine;
  cold: ColdTier;
  realtimeThresholdMs: number;
  timeoutMs: number;
  maxConcurrent: number;
  log: Logger;
  now?: () => number;
}

export class Planner {
  private readonly now: () => number;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly opts: PlannerOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Answers `q` within `timeoutMs` (default: the configured query_timeout), waiting for a slot included. */
  async run(q: Query, { timeoutMs = this.opts.timeoutMs }: { timeoutMs?: number } = {}): Promise<QueryAnswer> {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeoutMs);
    try {
      // Waiting for a slot counts against the time limit too.
      await this.acquire(ctl.signal);
      try {
        return await Promise.race([this.answer(q, ctl.signal), aborted(ctl.signal)]);
      } finally {
        this.release();
      }
    } catch (err) {
      if (ctl.signal.aborted) {
        const limit = timeoutMs === this.opts.timeoutMs ? ' (query_timeout)' : '';
        throw new QueryTimeoutError(`query took longer than ${timeoutMs / 1000} s${limit}; narrow the time range or add filters`);
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The parts of a query's range and the tier of each. */
  async plan(q: Query, signal: AbortSignal): Promise<{ parts: Part[]; backend: QueryAnswer['meta']['backend']; snapshotId?: string | null; boundaryMs?: number }> {
    const hot = (startMs: number, endMs: number): Part => ({ engine: this.opts.hot, startMs, endMs, name: 'clickhouse' });
    const nowMs = Math.floor(this.now() / 1000) * 1000;
    const hotFromMs = nowMs - this.opts.realtimeThresholdMs;
    // PRD 2.1.4: shorter than the threshold is real-time; "last 2d" with a 2d threshold is not.
    const realtime = q.tier === 'realtime' || (q.tier === 'auto' && !q.asOf && q.startMs > hotFromMs);
    if (realtime) return { parts: [hot(q.startMs, q.endMs)], backend: 'clickhouse' };
    const snap = await tier('cold', () => this.opts.cold.snapshot(q.asOf, signal), this.opts.log);
    const cold = (startMs: number, endMs: number): Part => ({ engine: snap.engine, startMs, endMs, name: 'iceberg' });
    // Forced, or travelling back in time: the snapshot alone answers.
    if (q.tier === 'historical' || q.asOf) return { parts: [cold(q.startMs, q.endMs)], backend: 'iceberg', snapshotId: snap.snapshotId };
    // A flow stamped in the future (an exporter's clock ahead) must not move the seam past now.
    const boundary = Math.max(q.startMs, Math.min(q.endMs, seam(hotFromMs, Math.min(nowMs, snap.completeBeforeMs ?? q.startMs))));
    if (boundary >= q.endMs) return { parts: [cold(q.startMs, q.endMs)], backend: 'iceberg', snapshotId: snap.snapshotId };
    if (boundary <= q.startMs) return { parts: [hot(q.startMs, q.endMs)], backend: 'clickhouse', snapshotId: snap.snapshotId };
    return { parts: [cold(q.startMs, boundary), hot(boundary, q.endMs)], backend: 'iceberg+clickhouse', snapshotId: snap.snapshotId, boundaryMs: boundary };
  }

  private async answer(q: Query, signal: AbortSignal): Promise<QueryAnswer> {
    const plan = await this.plan(q, signal);
    const parts = plan.parts.map((p) => ({ ...p, engine: guarded(p.engine, p.name, this.opts.log) }));
    const ex = await execute(q, parts, signal);
    const columns = [...q.groupBy, ...(q.byTime ? ['timestamp'] : []), 'bytes', 'packets', 'flows', ...(q.metric === 'bps' || q.metric === 'pps' ? [q.metric] : []), ...(q.groupBy.length ? ['other'] : [])];
    return {
      columns,
      rows: ex.rows,
      meta: {
        backend: plan.backend,
        tables: ex.tables,
        start: new Date(q.startMs).toISOString(),
        end: new Date(q.endMs).toISOString(),
        interval_s: intervalSeconds(q.interval),
        interval: q.interval ? intervalText(q.interval) : null,
        metric: q.metric,
        group_by: [...q.groupBy, ...(q.byTime ? ['time'] : [])],
        filters: q.filters.map(filterText),
        order: q.order,
        limit: q.limit,
        rows_read: ex.rowsRead,
        ...(plan.snapshotId !== undefined ? { snapshot_id: plan.snapshotId } : {}),
        ...(plan.boundaryMs !== undefined ? { boundary: new Date(plan.boundaryMs).toISOString() } : {}),
      },
    };
  }

  /** A slot, or a rejection when `signal` aborts first; an aborted waiter leaves the line, so it is never handed a slot it would not release. */
  private acquire(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(new Error('aborted'));
    if (this.running < this.opts.maxConcurrent) { this.running++; return Promise.resolve(); }
    return new Promise((resolve, reject) => {
      const take = () => { signal.removeEventListener('abort', leave); this.running++; resolve(); };
      const leave = () => {
        const at = this.waiting.indexOf(take);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(new Error('aborted'));
      };
      this.waiting.push(take);
      signal.addEventListener('abort', leave, { once: true });
    });
  }

  private release(): void {
    this.running--;
    this.waiting.shift()?.();
  }
}

const MS_PER_HOUR = 3_600_000;

/**
 * Where a range reaching beyond the threshold is split. Any instant from
 * `hotFromMs` (ClickHouse holds every flow after it: the real-time route
 * trusts it that far) to `coldBeforeMs` (the Iceberg snapshot holds every flow
 * before it) gives an exact answer. Of those, the newest UTC midnight is the
 * cheapest: Iceberg answers whole closed days from its daily rollups and
 * ClickHouse the open day from its minute and hour rollups. Without a midnight
 * in the window, the first whole hour in it: Iceberg has no rollups of the
 * open day, so the less of it left to Iceberg's raw flows the better, and
 * ClickHouse's hour rollups answer from a whole hour on. When the snapshot
 * lags further behind than the threshold, no instant is exact on both sides:
 * Iceberg answers what it holds and ClickHouse the rest (it keeps flows longer
 * than the threshold, as realtime_threshold's documentation asks).
 */
export function seam(hotFromMs: number, coldBeforeMs: number): number {
  if (coldBeforeMs <= hotFromMs) return coldBeforeMs;
  const midnight = dayOf(coldBeforeMs) * MS_PER_DAY;
  if (midnight >= hotFromMs) return midnight;
  const hour = Math.ceil(hotFromMs / MS_PER_HOUR) * MS_PER_HOUR;
  return hour <= coldBeforeMs ? hour : coldBeforeMs;
}

/** Engine failures become a user-facing TierUnavailableError; the detail goes to the log. */
function guarded(engine: AggregateEngine, name: string, log: Logger): AggregateEngine {
  return { aggregate: (agg, signal) => tier(name, () => engine.aggregate(agg, signal), log, signal), ...(engine.onlyLimit ? { onlyLimit: engine.onlyLimit } : {}) };
}

async function tier<T>(name: string, fn: () => Promise<T>, log: Logger, signal?: AbortSignal): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (signal?.aborted || err instanceof QueryTimeoutError || err instanceof TierUnavailableError || err instanceof ParamError) throw err;
    log.error({ tier: name, err: (err as Error).message }, 'tier query failed');
    const label = name === 'clickhouse' ? 'the real-time tier (ClickHouse)' : 'the historical tier (Iceberg)';
    throw new TierUnavailableError(`${label} could not answer; see the core-extension log`);
  }
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(new Error('aborted'));
    signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
  });
}
