// Which tables answer which part of a range, for either tier: rollups are
// sums of flows over a grain of time (a minute, an hour, a day) on some of the
// dimensions. A rollup answers an aggregate when it has every key and every
// filtered column and its grain divides the bucket; the cheapest one answers
// the whole grains inside the range, finer ones the edges, and the raw table
// whatever no grain covers. Sums over disjoint pieces add up, so the answer is
// the same as the raw table's.
import { filterColumns, type Aggregate, type Dimension, type FilterTerm } from './model.js';

export interface RollupTable {
  kind: 'raw' | 'rollup';
  /** Seconds each row's `timestamp` stands for: 1 raw, 60 a minute rollup, 3600, 86400. */
  grainSeconds: number;
  dims: ReadonlySet<Dimension>;
  /**
   * The host rollup: `host` holds each distinct address of a flow once, so one
   * address on either side (filter ip=A) is `host = A`, each flow counted once;
   * two addresses or a block would count a flow between them twice.
   */
  eitherHost?: boolean;
}

export interface Covering<T> { table: T; fromMs: number; toMs: number }

type Shape = Pick<Aggregate, 'keys' | 'filters' | 'interval'>;

/** Dimensions that do not make a rollup wide: a handful of values each. */
const NARROW: ReadonlySet<Dimension> = new Set(['exporter', 'protocol', 'input_if', 'output_if']);

/**
 * Rough cost order: fewer wide dimensions (addresses, ports, AS numbers:
 * thousands of values) first, then the coarser grain, then the given order.
 * A rollup's rows per unit of time grow with its wide dimensions far more
 * than with anything else.
 */
export function costOrder<T extends RollupTable>(tables: T[]): T[] {
  const wide = (t: T) => [...t.dims].filter((d) => !NARROW.has(d)).length + (t.eitherHost ? 1 : 0);
  return tables.map((t, i) => ({ t, i })).sort((a, b) => wide(a.t) - wide(b.t) || b.t.grainSeconds - a.t.grainSeconds || a.i - b.i).map((x) => x.t);
}

/** Whether a rollup answers an aggregate: every key and filter it can see, at a grain that divides the bucket. */
export function fits(t: RollupTable, agg: Shape): boolean {
  if (t.kind !== 'rollup') return false;
  if (!agg.keys.every((d) => t.dims.has(d))) return false;
  const ipTerms = agg.filters.filter((f) => f.key === 'ip');
  if (t.eitherHost && !(ipTerms.length === 1 && isSingleAddress(ipTerms[0]!))) return false;
  if (!agg.filters.every((f) => (t.eitherHost && f.key === 'ip') || filterColumns(f.key).every((d) => t.dims.has(d)))) return false;
  if (agg.interval === null) return true;
  return agg.interval.kind === 'month' ? 86400 % t.grainSeconds === 0 : agg.interval.seconds % t.grainSeconds === 0;
}

/** A filter term of one address (not a block, not alternatives). */
export function isSingleAddress(t: FilterTerm): boolean {
  return t.values.length === 1 && t.values[0]!.kind === 'ip' && !t.values[0]!.net.text.includes('/');
}

/**
 * Pieces covering [fromMs, toMs) in time order: the cheapest fitting rollup
 * for its whole grains inside, the edges the same way with the finer fitting
 * rollups, and `raw` for what no grain covers.
 */
export function cover<T extends RollupTable>(tables: T[], raw: T, agg: Shape, fromMs: number, toMs: number): Covering<T>[] {
  const step = (cands: T[], from: number, to: number): Covering<T>[] => {
    if (to <= from) return [];
    for (const t of cands) {
      const grain = t.grainSeconds * 1000;
      const a = Math.ceil(from / grain) * grain, b = Math.floor(to / grain) * grain;
      if (b <= a) continue;
      const finer = cands.filter((f) => f.grainSeconds < t.grainSeconds && t.grainSeconds % f.grainSeconds === 0);
      return [...step(finer, from, a), { table: t, fromMs: a, toMs: b }, ...step(finer, b, to)];
    }
    return [{ table: raw, fromMs: from, toMs: to }];
  };
  return step(costOrder(tables.filter((t) => fits(t, agg))), fromMs, toMs);
}
