// API rows -> what the charts and tables draw. Buckets with no flows are
// absent from the API's answer; here they become explicit zeros, because no
// traffic is a value, and a line across a gap would invent traffic.
import type { Cell, FlowMeta, FlowRow } from './api-types.js';
import { portLabel, protocolName } from './names.js';

export interface Series { name: string; key: string | null; other: boolean; values: number[]; total: number }
export interface TimeSeries { times: number[]; series: Series[] }

/** How a group value is shown: protocols and ports get names, "other" is labelled. */
export function groupLabel(field: string, value: Cell, other = false): string {
  if (other) return 'other';
  if (value === null || value === undefined || value === '') return '(none)';
  if (field === 'protocol') return protocolName(Number(value));
  if (field === 'dst_port' || field === 'src_port') return portLabel(Number(value));
  if (field === 'src_as' || field === 'dst_as') return `AS${value}`;
  return String(value);
}

/**
 * Pivots time-grouped rows into one series per group (largest first, "other"
 * last) over a regular grid of buckets covering the range. The grid is aligned
 * on the buckets the API returned, whatever alignment it uses.
 */
export function buildTimeSeries(rows: FlowRow[], meta: Pick<FlowMeta, 'start' | 'end' | 'interval_s'>, metric: string, split: string | null): TimeSeries {
  const step = (meta.interval_s ?? 0) * 1000;
  const stamps = rows.map((r) => Date.parse(String(r.timestamp)));
  if (rows.length === 0 || step <= 0) return { times: [], series: [] };
  const start = Date.parse(meta.start);
  const end = Date.parse(meta.end);
  const anchor = Math.min(...stamps);
  // The earliest bucket on the API's grid that still overlaps the range.
  const first = Math.min(anchor, anchor - Math.ceil((anchor - start) / step) * step);
  const lastStamp = Math.max(...stamps);
  const times: number[] = [];
  for (let t = first; t < Math.max(end, lastStamp + 1); t += step) times.push(t);

  const byKey = new Map<string, Series>();
  rows.forEach((row, i) => {
    const other = row.other === true;
    const key = split === null ? 'total' : other ? '\u0000other' : String(row[split]);
    let s = byKey.get(key);
    if (!s) {
      s = { name: split === null ? 'total' : groupLabel(split, row[split], other), key: split === null || other ? null : String(row[split]), other, values: times.map(() => 0), total: 0 };
      byKey.set(key, s);
    }
    const idx = Math.round((stamps[i] - first) / step);
    const v = Number(row[metric] ?? 0);
    if (idx >= 0 && idx < times.length) { s.values[idx] += v; s.total += v; }
  });
  const series = [...byKey.values()].sort((a, b) => Number(a.other) - Number(b.other) || b.total - a.total);
  return { times, series };
}

/** Sum of all series per bucket. */
export function stackTotals(ts: TimeSeries): number[] {
  return ts.times.map((_, i) => ts.series.reduce((sum, s) => sum + s.values[i], 0));
}

export interface TableRow { label: string; key: string | null; other: boolean; bytes: number; packets: number; flows: number; rate: number; share: number }

/**
 * A top-N answer as table rows with each row's share of the total bytes. The
 * total includes the API's "other" row, so shares are of all traffic in range.
 */
export function buildTable(rows: FlowRow[], field: string, rateMetric: string | null): TableRow[] {
  const total = rows.reduce((sum, r) => sum + Number(r.bytes), 0);
  return rows.map((r) => {
    const other = r.other === true;
    return {
      label: groupLabel(field, r[field], other),
      key: other || r[field] === null ? null : String(r[field]),
      other,
      bytes: Number(r.bytes),
      packets: Number(r.packets),
      flows: Number(r.flows),
      rate: rateMetric ? Number(r[rateMetric] ?? 0) : 0,
      share: total > 0 ? Number(r.bytes) / total : 0,
    };
  });
}

export interface Totals { bytes: number; packets: number; flows: number }

export function totals(rows: FlowRow[]): Totals {
  return rows.reduce((t, r) => ({ bytes: t.bytes + Number(r.bytes), packets: t.packets + Number(r.packets), flows: t.flows + Number(r.flows) }), { bytes: 0, packets: 0, flows: 0 });
}

export interface MonthSeries { months: string[]; partial: boolean[]; series: { name: string; other: boolean; values: number[] }[] }

/**
 * Daily series summed into calendar months (UTC, like the API's day buckets).
 * A month the range covers only in part is flagged, so a short bar is not read as a drop.
 */
export function monthly(ts: TimeSeries, rangeStart: number, rangeEnd: number): MonthSeries {
  const monthOf = (t: number) => new Date(t).toISOString().slice(0, 7);
  const months = [...new Set(ts.times.map(monthOf))];
  const partial = months.map((m) => {
    const [y, mo] = m.split('-').map(Number);
    const first = Date.UTC(y, mo - 1, 1);
    const next = Date.UTC(y, mo, 1);
    return rangeStart > first || rangeEnd < next;
  });
  const series = ts.series.map((s) => {
    const values = months.map(() => 0);
    s.values.forEach((v, i) => { values[months.indexOf(monthOf(ts.times[i]))] += v; });
    return { name: s.name, other: s.other, values };
  });
  return { months, partial, series };
}
