// The whole state of a view lives in its URL, so a view can be shared or
// bookmarked: parse(search) -> state -> serialize(state) is canonical (defaults
// omitted, fixed order), and the same state gives the API's query parameters.
// Anything malformed in a URL falls back to the default rather than failing.
import { FILTER_KEYS, parseFilterInput, filtersToApi, type Filter } from './filters.js';
import type { Metric } from './units.js';

export type View = 'realtime' | 'historical';
export type TimeZoneMode = 'local' | 'utc';
/** A preset the API knows (time_range) or an explicit [start, end) in ms since the epoch. */
export type TimeRange = { preset: string } | { start: number; end: number };

export interface Preset { id: string; label: string }

export const REALTIME_PRESETS: readonly Preset[] = [
  { id: 'last_15m', label: '15 min' }, { id: 'last_1h', label: '1 h' }, { id: 'last_6h', label: '6 h' },
  { id: 'last_24h', label: '24 h' }, { id: 'today', label: 'Today' },
];
export const HISTORICAL_PRESETS: readonly Preset[] = [
  { id: 'last_7d', label: '7 days' }, { id: 'last_30d', label: '30 days' }, { id: 'last_90d', label: '90 days' },
];

/** Dimensions a chart can be split by or a table grouped by (the API's group_by names). */
export const DIMENSIONS: readonly { id: string; label: string; plural: string }[] = [
  { id: 'protocol', label: 'Protocol', plural: 'Protocols' },
  { id: 'src_ip', label: 'Source IP', plural: 'Source IPs' },
  { id: 'dst_ip', label: 'Destination IP', plural: 'Destination IPs' },
  { id: 'src_port', label: 'Source port', plural: 'Source ports' },
  { id: 'dst_port', label: 'Destination port', plural: 'Destination ports' },
  { id: 'exporter', label: 'Exporter', plural: 'Exporters' },
  { id: 'input_if', label: 'Input interface', plural: 'Input interfaces' },
  { id: 'output_if', label: 'Output interface', plural: 'Output interfaces' },
  { id: 'src_as', label: 'Source AS', plural: 'Source ASes' },
  { id: 'dst_as', label: 'Destination AS', plural: 'Destination ASes' },
];

export const REFRESH_CHOICES: readonly number[] = [0, 10, 30, 60, 300];
export const SPIKE_K_CHOICES: readonly number[] = [2, 3, 4, 5];
export const TABLE_LIMITS: readonly number[] = [10, 25, 100, 500];

interface CommonState { range: TimeRange; filters: Filter[]; tz: TimeZoneMode }

export interface RealtimeState extends CommonState {
  metric: 'bps' | 'pps';
  /** '' = one total series */
  split: string;
  chart: 'area' | 'line';
  /** seconds between refreshes, 0 = off */
  refresh: number;
}

export interface HistoricalState extends CommonState {
  metric: 'bytes' | 'packets' | 'flows';
  /** spike rule: more than k scaled MADs above the median */
  k: number;
  /** the result table's dimension */
  table: string;
  limit: number;
}

export const REALTIME_DEFAULTS: RealtimeState = {
  range: { preset: 'last_1h' }, filters: [], tz: 'local', metric: 'bps', split: 'protocol', chart: 'area', refresh: 30,
};
export const HISTORICAL_DEFAULTS: HistoricalState = {
  range: { preset: 'last_30d' }, filters: [], tz: 'utc', metric: 'bytes', k: 3, table: 'src_ip', limit: 25,
};

function oneOf<T>(value: string | null, allowed: readonly T[], parse: (s: string) => T, fallback: T): T {
  if (value === null) return fallback;
  const v = parse(value);
  return allowed.includes(v) ? v : fallback;
}

const dimensionIds = DIMENSIONS.map((d) => d.id);

function parseTime(text: string | null): number | null {
  if (text === null || text === '') return null;
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  return Number.isFinite(ms) ? ms : null;
}

function parseCommon(p: URLSearchParams, presets: readonly Preset[], defaults: CommonState): CommonState {
  const start = parseTime(p.get('start'));
  const end = parseTime(p.get('end'));
  let range: TimeRange = defaults.range;
  if (start !== null && end !== null && start < end) range = { start, end };
  else if (presets.some((x) => x.id === p.get('range'))) range = { preset: p.get('range')! };

  const filters: Filter[] = [];
  for (const spec of FILTER_KEYS) {
    const raw = p.get(spec.key);
    if (raw === null) continue;
    const parsed = parseFilterInput(spec.key, raw);
    if ('values' in parsed) filters.push({ key: spec.key, values: parsed.values });
  }
  const tz = oneOf<TimeZoneMode>(p.get('tz'), ['local', 'utc'], (s) => s as TimeZoneMode, defaults.tz);
  return { range, filters, tz };
}

export function parseRealtime(search: string): RealtimeState {
  const p = new URLSearchParams(search);
  const d = REALTIME_DEFAULTS;
  return {
    ...parseCommon(p, REALTIME_PRESETS, d),
    metric: oneOf(p.get('metric'), ['bps', 'pps'] as const, (s) => s as 'bps' | 'pps', d.metric),
    split: p.get('split') === 'none' ? '' : oneOf(p.get('split'), dimensionIds, String, d.split),
    chart: oneOf(p.get('chart'), ['area', 'line'] as const, (s) => s as 'area' | 'line', d.chart),
    refresh: oneOf(p.get('refresh'), REFRESH_CHOICES, Number, d.refresh),
  };
}

export function parseHistorical(search: string): HistoricalState {
  const p = new URLSearchParams(search);
  const d = HISTORICAL_DEFAULTS;
  return {
    ...parseCommon(p, HISTORICAL_PRESETS, d),
    metric: oneOf(p.get('metric'), ['bytes', 'packets', 'flows'] as const, (s) => s as HistoricalState['metric'], d.metric),
    k: oneOf(p.get('k'), SPIKE_K_CHOICES, Number, d.k),
    table: oneOf(p.get('table'), dimensionIds, String, d.table),
    limit: oneOf(p.get('limit'), TABLE_LIMITS, Number, d.limit),
  };
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

function sameRange(a: TimeRange, b: TimeRange): boolean {
  return 'preset' in a && 'preset' in b ? a.preset === b.preset : JSON.stringify(a) === JSON.stringify(b);
}

function serializeCommon(s: CommonState, d: CommonState, p: URLSearchParams): void {
  if ('preset' in s.range) {
    if (!sameRange(s.range, d.range)) p.set('range', s.range.preset);
  } else {
    p.set('start', isoTime(s.range.start));
    p.set('end', isoTime(s.range.end));
  }
  for (const f of s.filters) p.set(f.key, f.values.join('|'));
  if (s.tz !== d.tz) p.set('tz', s.tz);
}

function finish(p: URLSearchParams): string {
  // "|" and "/" and ":" are legal in a query string; keeping them readable makes shared links legible.
  const q = p.toString().replace(/%7C/gi, '|').replace(/%2F/gi, '/').replace(/%3A/gi, ':');
  return q ? `?${q}` : '';
}

export function serializeRealtime(s: RealtimeState): string {
  const d = REALTIME_DEFAULTS;
  const p = new URLSearchParams();
  serializeCommon(s, d, p);
  if (s.metric !== d.metric) p.set('metric', s.metric);
  if (s.split !== d.split) p.set('split', s.split || 'none');
  if (s.chart !== d.chart) p.set('chart', s.chart);
  if (s.refresh !== d.refresh) p.set('refresh', String(s.refresh));
  return finish(p);
}

export function serializeHistorical(s: HistoricalState): string {
  const d = HISTORICAL_DEFAULTS;
  const p = new URLSearchParams();
  serializeCommon(s, d, p);
  if (s.metric !== d.metric) p.set('metric', s.metric);
  if (s.k !== d.k) p.set('k', String(s.k));
  if (s.table !== d.table) p.set('table', s.table);
  if (s.limit !== d.limit) p.set('limit', String(s.limit));
  return finish(p);
}

/** What carries over when switching views: the filters and the time zone, not the range. */
export function carryOver(s: CommonState, to: View): string {
  const d = to === 'realtime' ? REALTIME_DEFAULTS : HISTORICAL_DEFAULTS;
  const p = new URLSearchParams();
  serializeCommon({ range: d.range, filters: s.filters, tz: s.tz }, d, p);
  return finish(p);
}

export interface QueryShape { group_by: string[]; metric: Metric; limit?: number; interval?: string }

/** The API's query parameters for one request of a view. */
export function apiParams(range: TimeRange, filters: Filter[], q: QueryShape): URLSearchParams {
  const p = new URLSearchParams();
  if ('preset' in range) p.set('time_range', range.preset);
  else { p.set('start', isoTime(range.start)); p.set('end', isoTime(range.end)); }
  if (q.group_by.length) p.set('group_by', q.group_by.join(','));
  if (q.interval) p.set('interval', q.interval);
  p.set('metric', q.metric);
  if (q.limit !== undefined) p.set('limit', String(q.limit));
  if (filters.length) p.set('filter', filtersToApi(filters));
  return p;
}

/** Where the login page may send the user back to: a path on this site, nothing else. */
export function safeReturnPath(next: string | null): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.includes('\\') || /[\u0000-\u001f]/.test(next)) return '/';
  return next;
}
