// The validated query the API hands to the planner, and the engine-neutral
// aggregate an engine answers. Everything here is already checked and
// canonical: engines render it into SQL without looking at user text again.
import type { IpNet } from './ip.js';

/** Record fields a query may group or filter by (the proto's names). */
export const DIMENSIONS = ['src_ip', 'dst_ip', 'src_port', 'dst_port', 'protocol', 'exporter', 'input_if', 'output_if', 'src_as', 'dst_as'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

/** IP dimensions hold addresses; the others unsigned integers. */
export const IP_DIMENSIONS: ReadonlySet<Dimension> = new Set(['src_ip', 'dst_ip', 'exporter']);

/** Filter keys: every dimension, plus `ip` and `port` meaning either side. */
export const FILTER_KEYS = [...DIMENSIONS, 'ip', 'port'] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];

/** The dimensions a filter key looks at (OR over them). */
export function filterColumns(key: FilterKey): Dimension[] {
  if (key === 'ip') return ['src_ip', 'dst_ip'];
  if (key === 'port') return ['src_port', 'dst_port'];
  return [key];
}

export type FilterValue = { kind: 'ip'; net: IpNet } | { kind: 'uint'; value: number };

/** One `key=v1|v2` term: true when the key matches any of its values. Terms are ANDed. */
export interface FilterTerm { key: FilterKey; values: FilterValue[] }

export const METRICS = ['bytes', 'packets', 'flows', 'bps', 'pps'] as const;
export type Metric = (typeof METRICS)[number];

/** The sum a metric ranks by: bps ranks by bytes, pps by packets. */
export function baseMetric(m: Metric): 'bytes' | 'packets' | 'flows' {
  return m === 'bps' ? 'bytes' : m === 'pps' ? 'packets' : m;
}

/** A time bucket: fixed seconds, or calendar months (UTC). */
export type Interval = { kind: 'fixed'; seconds: number } | { kind: 'month' };

export type Tier = 'auto' | 'realtime' | 'historical';

export type AsOf = { snapshotId: string } | { timeMs: number };

export interface Query {
  /** [startMs, endMs) over the flow `timestamp` (flow end), ms since the epoch. */
  startMs: number;
  endMs: number;
  groupBy: Dimension[];
  /** Grouped by time too (`time` in group_by). */
  byTime: boolean;
  interval: Interval | null;
  filters: FilterTerm[];
  metric: Metric;
  /** Top-N groups; null when nothing but time is grouped. */
  limit: number | null;
  order: 'asc' | 'desc';
  asOf: AsOf | null;
  format: 'json' | 'csv';
  tier: Tier;
}

/** Sums over a group. bytes and packets are sampling-rate scaled; flows counts records. */
export interface Sums { bytes: number; packets: number; flows: number }

/** One group of an aggregate: its dimension values (canonical text or number), its bucket, its sums. */
export interface AggRow extends Sums {
  keys: (string | number)[];
  /** Bucket start in ms, when the aggregate has a bucket. */
  bucket?: number;
}

/**
 * What an engine answers: sums over [startMs, endMs) with the filters, grouped by
 * `keys` (and by bucket when `interval` is set), optionally only for the groups in
 * `only`, optionally the top `limit` groups by `rank`.
 */
export interface Aggregate {
  startMs: number;
  endMs: number;
  filters: FilterTerm[];
  keys: Dimension[];
  interval: Interval | null;
  only?: (string | number)[][];
  top?: { rank: 'bytes' | 'packets' | 'flows'; order: 'asc' | 'desc'; limit: number };
}

export interface AggResult {
  rows: AggRow[];
  /** Rows the engine read (as it reports them; after pruning). */
  rowsRead: number;
  /** Tables or files the answer came from. */
  tables: string[];
}

/** An engine that can answer aggregates; `signal` aborts a query that ran out of time. */
export interface AggregateEngine {
  aggregate(agg: Aggregate, signal: AbortSignal): Promise<AggResult>;
  /** Most groups one `only` list may hold (SQL text has limits; a list parameter has none). Default 500. */
  readonly onlyLimit?: number;
}

/** The key of a group as one string (for maps). */
export function groupKey(keys: (string | number)[], bucket?: number): string {
  return JSON.stringify(bucket === undefined ? keys : [bucket, ...keys]);
}

/** Bucket start (ms) of a timestamp. */
export function bucketStart(interval: Interval, ms: number): number {
  if (interval.kind === 'month') {
    const d = new Date(ms);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  }
  const w = interval.seconds * 1000;
  return Math.floor(ms / w) * w;
}

/** End (exclusive, ms) of the bucket starting at `start`. */
export function bucketEnd(interval: Interval, start: number): number {
  if (interval.kind === 'month') {
    const d = new Date(start);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  }
  return start + interval.seconds * 1000;
}

export function intervalSeconds(interval: Interval | null): number | null {
  return interval === null ? null : interval.kind === 'month' ? null : interval.seconds;
}

export function intervalText(interval: Interval): string {
  if (interval.kind === 'month') return 'month';
  const s = interval.seconds;
  for (const [unit, n] of [['d', 86400], ['h', 3600], ['m', 60]] as const) if (s % n === 0) return `${s / n}${unit}`;
  return `${s}s`;
}

/** Canonical text of a filter term, as the response's meta reports it. */
export function filterText(term: FilterTerm): string {
  return `${term.key}=${term.values.map((v) => (v.kind === 'ip' ? v.net.text : String(v.value))).join('|')}`;
}

/** A validation failure: which parameter, and why. */
export class ParamError extends Error {
  override name = 'ParamError';
  constructor(readonly parameter: string, reason: string) { super(reason); }
}
