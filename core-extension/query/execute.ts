// Answers a Query from one or more parts (an engine over a sub-range), using
// only the engine-neutral Aggregate: top-N with an "other" row, time series,
// and ranges split between tiers, all exact. Ties rank by key so every engine
// and every split gives the same rows.
import { ipBytes } from './ip.js';
import {
  IP_DIMENSIONS, baseMetric, bucketEnd, bucketStart, groupKey,
  type AggResult, type AggRow, type Aggregate, type AggregateEngine, type Dimension, type Query, type Sums,
} from './model.js';

/** An engine answering [startMs, endMs) of the query's range. */
export interface Part { engine: AggregateEngine; startMs: number; endMs: number; name: string }

/** Groups per `only` list sent to an engine at once, unless it says otherwise. */
const ONLY_SLICE = 500;

export type ResultRow = Record<string, string | number | boolean | null>;

export interface Execution {
  rows: ResultRow[];
  rowsRead: number;
  tables: string[];
}

export async function execute(q: Query, parts: Part[], signal: AbortSignal): Promise<Execution> {
  const ex = new Executor(q, parts, signal);
  const rows = await ex.rows();
  return { rows, rowsRead: ex.rowsRead, tables: [...ex.tables] };
}

class Executor {
  rowsRead = 0;
  readonly tables = new Set<string>();
  private readonly rank: keyof Sums;

  constructor(private readonly q: Query, private readonly parts: Part[], private readonly signal: AbortSignal) {
    this.rank = baseMetric(q.metric);
  }

  async rows(): Promise<ResultRow[]> {
    const { q } = this;
    const base = { startMs: q.startMs, endMs: q.endMs, filters: q.filters };
    if (!q.groupBy.length) {
      const rows = await this.sum({ ...base, keys: [], interval: q.interval });
      if (!q.byTime) return [this.row([], undefined, rows[0] ?? zero())];
      const byBucket = new Map(rows.map((r) => [r.bucket!, r]));
      return this.buckets().map((b) => this.row([], b, byBucket.get(b) ?? zero()));
    }
    const limit = q.limit!;
    // The ranking first: totals are only needed for an "other" row, and the
    // series only for the groups that made the top.
    const top = await this.top(q.groupBy, limit + 1);
    const hasOther = top.length > limit;
    const chosen = top.slice(0, limit);
    const totalsOf = (interval: Query['interval']) => (hasOther ? this.sum({ ...base, keys: [], interval }) : Promise.resolve([]));
    if (!q.byTime) {
      const rows = chosen.map((r) => this.row(r.keys, undefined, r));
      if (hasOther) rows.push(this.otherRow(undefined, minus((await totalsOf(null))[0] ?? zero(), chosen)));
      return rows;
    }
    const [series, totals] = await Promise.all([
      // Without an "other", the top holds every group: no need to list them.
      chosen.length ? this.sum({ ...base, keys: q.groupBy, interval: q.interval, ...(hasOther ? { only: chosen.map((r) => r.keys) } : {}) }) : Promise.resolve([]),
      totalsOf(q.interval),
    ]);
    const rank = new Map(chosen.map((r, i) => [groupKey(r.keys), i]));
    const inBucket = new Map<number, AggRow[]>();
    for (const r of series) (inBucket.get(r.bucket!) ?? inBucket.set(r.bucket!, []).get(r.bucket!)!).push(r);
    const totalOf = new Map(totals.map((t) => [t.bucket!, t]));
    const out: ResultRow[] = [];
    for (const b of this.buckets()) {
      const rows = (inBucket.get(b) ?? []).sort((x, y) => rank.get(groupKey(x.keys))! - rank.get(groupKey(y.keys))!);
      for (const r of rows) out.push(this.row(r.keys, b, r));
      if (hasOther) {
        const rest = minus(totalOf.get(b) ?? zero(), rows);
        if (rest.flows > 0) out.push(this.otherRow(b, rest));
      }
    }
    return out;
  }

  /** Sums of an aggregate over every part, added up group by group. */
  private async sum(agg: Aggregate): Promise<AggRow[]> {
    const results = await Promise.all(this.parts.map((p) => this.run(p, agg)).filter(Boolean) as Promise<AggResult>[]);
    return mergeRows(results.map((r) => r.rows));
  }

  /**
   * The top `n` groups over the whole range. With one part the engine ranks;
   * with several, the main (largest) part's top n + |small parts' keys| plus the
   * main part's sums for those keys make a candidate set that provably holds
   * the true top n of the total, in either order. Ranking by the largest, the
   * main part's sums are looked up only for the small parts' groups that could
   * still make the top (see undecided): usually none, when the small part is
   * the few minutes Iceberg does not hold yet.
   */
  private async top(keys: Dimension[], n: number): Promise<AggRow[]> {
    const { q } = this;
    const base: Aggregate = { startMs: q.startMs, endMs: q.endMs, filters: q.filters, keys, interval: null };
    const top = { rank: this.rank, order: q.order, limit: n };
    const live = this.parts.filter((p) => overlaps(p, q));
    if (live.length <= 1) {
      const res = live.length ? await this.run(live[0]!, { ...base, top }) : undefined;
      return res ? this.ranked(res.rows).slice(0, n) : [];
    }
    const main = live.reduce((a, b) => (b.endMs - b.startMs > a.endMs - a.startMs ? b : a));
    const others = live.filter((p) => p !== main);
    const small = mergeRows((await Promise.all(others.map((p) => this.run(p, base)!))).map((r) => r.rows));
    const smallKeys = small.map((r) => r.keys);
    const limit = n + smallKeys.length;
    const mainTop = await this.run(main, { ...base, top: { ...top, limit } })!;
    const mainSums = new Map<string, AggRow>();
    for (const r of mainTop.rows) mainSums.set(groupKey(r.keys), r);
    const missing = small.filter((r) => !mainSums.has(groupKey(r.keys)));
    const needed = q.order === 'desc' && mainTop.rows.length === limit ? this.undecided(mainTop.rows, small, missing, n) : missing;
    // Fewer rows than asked: the main part has no other groups, so the missing ones have nothing there.
    const exact = needed.length && mainTop.rows.length === limit ? await this.run(main, { ...base, only: needed.map((r) => r.keys) })! : { rows: [] as AggRow[] };
    // Now known exactly: the main top's groups, and the undecided ones (absent from the answer = nothing in the main part).
    const known = new Set([...mainSums.keys(), ...needed.map((r) => groupKey(r.keys))]);
    for (const r of exact.rows) mainSums.set(groupKey(r.keys), r);
    // The rest provably rank below the top n: left out.
    const decided = small.filter((r) => known.has(groupKey(r.keys)) || mainTop.rows.length < limit);
    return this.ranked(mergeRows([[...mainSums.values()], decided])).slice(0, n);
  }

  /**
   * Of the small parts' groups absent from the main part's top (desc), those
   * that could still reach the top n: each has at most the main top's last
   * sum there, so one whose small sum plus that stays below the n-th best
   * known total cannot (a tie could, on key order: it is kept).
   */
  private undecided(mainTop: AggRow[], small: AggRow[], missing: AggRow[], n: number): AggRow[] {
    const rank = this.rank;
    const ceiling = mainTop[mainTop.length - 1]![rank];
    const smallOf = new Map(small.map((r) => [groupKey(r.keys), r[rank]]));
    const lower = [...mainTop.map((r) => r[rank] + (smallOf.get(groupKey(r.keys)) ?? 0)), ...missing.map((r) => r[rank])].sort((a, b) => b - a);
    const nth = lower[n - 1] ?? -Infinity;
    return missing.filter((r) => r[rank] + ceiling >= nth);
  }

  /**
   * Runs an aggregate on a part, clipped to its range; undefined when they do
   * not overlap. A long list of groups is sent in slices (SQL text has limits);
   * the slices' groups are disjoint, so their rows just add up.
   */
  private run(p: Part, agg: Aggregate): Promise<AggResult> | undefined {
    const startMs = Math.max(agg.startMs, p.startMs), endMs = Math.min(agg.endMs, p.endMs);
    if (endMs <= startMs) return undefined;
    const size = p.engine.onlyLimit ?? ONLY_SLICE;
    const slices = agg.only && agg.only.length > size
      ? Array.from({ length: Math.ceil(agg.only.length / size) }, (_, i) => agg.only!.slice(i * size, (i + 1) * size))
      : [agg.only];
    return Promise.all(slices.map((only) => p.engine.aggregate({ ...agg, startMs, endMs, ...(only ? { only } : {}) }, this.signal))).then((results) => {
      for (const res of results) {
        this.rowsRead += res.rowsRead;
        for (const t of res.tables) this.tables.add(t);
      }
      return { rows: results.flatMap((r) => r.rows), rowsRead: 0, tables: [] };
    });
  }

  private ranked(rows: AggRow[]): AggRow[] {
    const dir = this.q.order === 'desc' ? -1 : 1;
    const cmp = keyComparator(this.q.groupBy);
    return [...rows].sort((a, b) => (a[this.rank] - b[this.rank]) * dir || cmp(a.keys, b.keys));
  }

  /** Every bucket start of the range, so a series has no holes. */
  private buckets(): number[] {
    const iv = this.q.interval!;
    const out: number[] = [];
    for (let b = bucketStart(iv, this.q.startMs); b < this.q.endMs; b = bucketEnd(iv, b)) out.push(b);
    return out;
  }

  private row(keys: (string | number)[], bucket: number | undefined, s: Sums): ResultRow {
    const r: ResultRow = {};
    this.q.groupBy.forEach((d, i) => { r[d] = keys[i] ?? null; });
    return this.finish(r, bucket, s);
  }

  private otherRow(bucket: number | undefined, s: Sums): ResultRow {
    const r: ResultRow = {};
    for (const d of this.q.groupBy) r[d] = null;
    r.other = true;
    return this.finish(r, bucket, s);
  }

  private finish(r: ResultRow, bucket: number | undefined, s: Sums): ResultRow {
    if (bucket !== undefined) r.timestamp = new Date(bucket).toISOString().replace('.000Z', 'Z');
    r.bytes = s.bytes; r.packets = s.packets; r.flows = s.flows;
    if (this.q.metric === 'bps' || this.q.metric === 'pps') {
      // Per second of the bucket that lies inside the range (edge buckets are partial).
      const from = bucket === undefined ? this.q.startMs : Math.max(bucket, this.q.startMs);
      const to = bucket === undefined ? this.q.endMs : Math.min(bucketEnd(this.q.interval!, bucket), this.q.endMs);
      const seconds = (to - from) / 1000;
      r[this.q.metric] = this.q.metric === 'bps' ? (s.bytes * 8) / seconds : s.packets / seconds;
    }
    return r;
  }
}

function overlaps(p: Part, q: Query): boolean {
  return Math.max(p.startMs, q.startMs) < Math.min(p.endMs, q.endMs);
}

function zero(): Sums { return { bytes: 0, packets: 0, flows: 0 }; }

function minus(total: Sums, parts: Sums[]): Sums {
  const s = { ...total };
  for (const p of parts) { s.bytes -= p.bytes; s.packets -= p.packets; s.flows -= p.flows; }
  return s;
}

/** Adds up rows of the same group (and bucket) from several results. */
export function mergeRows(lists: AggRow[][]): AggRow[] {
  if (lists.length === 1) return lists[0]!;
  const out = new Map<string, AggRow>();
  for (const list of lists) {
    for (const r of list) {
      const k = groupKey(r.keys, r.bucket);
      const have = out.get(k);
      if (!have) { out.set(k, { ...r }); continue; }
      have.bytes += r.bytes; have.packets += r.packets; have.flows += r.flows;
    }
  }
  return [...out.values()];
}

/** Orders group keys the way the engines do: IPs by their 16 bytes, numbers numerically. */
export function keyComparator(dims: Dimension[]): (a: (string | number)[], b: (string | number)[]) => number {
  return (a, b) => {
    for (let i = 0; i < dims.length; i++) {
      const x = a[i]!, y = b[i]!;
      const c = IP_DIMENSIONS.has(dims[i]!) ? compareIp(String(x), String(y)) : Number(x) - Number(y);
      if (c) return c;
    }
    return 0;
  };
}

function compareIp(x: string, y: string): number {
  const bx = ipBytes(x), by = ipBytes(y);
  if (!bx || !by) return x < y ? -1 : x > y ? 1 : 0;
  return Buffer.compare(bx, by);
}
