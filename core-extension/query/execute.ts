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

/**
 * How many groups each part of a split range lists at first for a top n: the
 * larger of these, then eight times more while undecided. With heavy-tailed
 * traffic the 500th group of a part is far below the top ten, so one round
 * decides almost every dashboard query; a list of 500 rows costs an engine
 * little more than one of 10, and growing eight-fold keeps rounds few when it
 * does not.
 */
const TOP_K_MIN = 500, TOP_K_PER_ROW = 20, TOP_K_GROWTH = 8;

/** `only` slices one part is sent at once (a long contender list must not become dozens of simultaneous queries). */
const SLICES_AT_ONCE = 4;

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
   * The top `n` groups over the whole range, each with its exact sums. With one
   * part the engine ranks. With several (a range split at the tier seam), each
   * part lists its own top k: a group's total is at most its listed sums plus,
   * for each part that did not list it, that part's least listed sum (nothing,
   * for a part that listed every group it has). Once the n-th best known total
   * beats what a group listed nowhere could reach (strictly: a tie could win on
   * key order), only the listed groups that can still reach it are looked up,
   * in the parts that did not list them; until then k grows. Smallest first, no
   * such bound holds (a group missing from a part counts 0 there): every group
   * of every part is read.
   */
  private async top(keys: Dimension[], n: number): Promise<AggRow[]> {
    const { q, rank } = this;
    const base: Aggregate = { startMs: q.startMs, endMs: q.endMs, filters: q.filters, keys, interval: null };
    const live = this.parts.filter((p) => overlaps(p, q));
    if (!live.length) return [];
    if (live.length === 1) return this.ranked((await this.run(live[0]!, { ...base, top: { rank, order: q.order, limit: n } }))!.rows).slice(0, n);
    if (q.order === 'asc') return this.ranked(await this.sum(base)).slice(0, n);
    const lists: AggRow[][] = live.map(() => []);
    const complete = live.map(() => false);
    for (let k = Math.max(TOP_K_MIN, TOP_K_PER_ROW * n); ; k *= TOP_K_GROWTH) {
      await Promise.all(live.map(async (p, i) => {
        if (complete[i]) return;
        lists[i] = (await this.run(p, { ...base, top: { rank, order: 'desc', limit: k } }))!.rows;
        complete[i] = lists[i]!.length < k;
      }));
      // The most a group has in a part that did not list it.
      const ceiling = lists.map((rows, i) => (complete[i] ? 0 : rows.reduce((m, r) => Math.min(m, r[rank]), Infinity)));
      const groups = listedGroups(lists).map(({ keys, listed }) => {
        const lower = listed.reduce((s, r) => s + (r?.[rank] ?? 0), 0);
        return { keys, listed, lower, upper: listed.reduce((s, r, i) => s + (r ? 0 : ceiling[i]!), lower) };
      });
      const nth = groups.map((g) => g.lower).sort((x, y) => y - x)[n - 1] ?? -Infinity;
      const unlisted = ceiling.reduce((s, c) => s + c, 0);
      if (!complete.every(Boolean) && !(nth > unlisted)) continue;
      const contenders = groups.filter((g) => g.upper >= nth);
      await Promise.all(live.map(async (p, i) => {
        const unknown = complete[i] ? [] : contenders.filter((g) => !g.listed[i]);
        if (!unknown.length) return;
        const found = new Map((await this.run(p, { ...base, only: unknown.map((g) => g.keys) }))!.rows.map((r) => [groupKey(r.keys), r]));
        for (const g of unknown) g.listed[i] = found.get(groupKey(g.keys));
      }));
      return this.ranked(contenders.map((g) => ({ keys: g.keys, ...addSums(g.listed) }))).slice(0, n);
    }
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
    return (async () => {
      const results: AggResult[] = [];
      for (let i = 0; i < slices.length; i += SLICES_AT_ONCE) {
        results.push(...await Promise.all(slices.slice(i, i + SLICES_AT_ONCE).map((only) => p.engine.aggregate({ ...agg, startMs, endMs, ...(only ? { only } : {}) }, this.signal))));
      }
      for (const res of results) {
        this.rowsRead += res.rowsRead;
        for (const t of res.tables) this.tables.add(t);
      }
      return { rows: results.flatMap((r) => r.rows), rowsRead: 0, tables: [] };
    })();
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

function addSums(rows: (Sums | undefined)[]): Sums {
  const s = zero();
  for (const r of rows) if (r) { s.bytes += r.bytes; s.packets += r.packets; s.flows += r.flows; }
  return s;
}

/** Every group some part listed, with its row from each part (undefined where that part did not list it). */
function listedGroups(lists: AggRow[][]): { keys: AggRow['keys']; listed: (AggRow | undefined)[] }[] {
  const groups = new Map<string, { keys: AggRow['keys']; listed: (AggRow | undefined)[] }>();
  lists.forEach((rows, i) => {
    for (const r of rows) {
      const k = groupKey(r.keys);
      const g = groups.get(k) ?? groups.set(k, { keys: r.keys, listed: new Array<AggRow | undefined>(lists.length).fill(undefined) }).get(k)!;
      g.listed[i] = r;
    }
  });
  return [...groups.values()];
}

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
