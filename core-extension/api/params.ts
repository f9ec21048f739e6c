// /api/netflow query parameters -> a validated Query. Pure: every value is
// checked against a whitelist or a strict grammar and turned into canonical
// form; anything else is a ParamError naming the parameter and the reason.
import { parseIpNet } from '../query/ip.js';
import {
  DIMENSIONS, FILTER_KEYS, IP_DIMENSIONS, METRICS, ParamError,
  type AsOf, type Dimension, type FilterKey, type FilterTerm, type FilterValue, type Interval, type Query, type Tier,
} from '../query/model.js';

const KNOWN = new Set(['time_range', 'start', 'end', 'group_by', 'interval', 'filter', 'metric', 'limit', 'order', 'as_of', 'format']);
const REPEATABLE = new Set(['filter']);
const MAX_VALUE_LENGTH = 4096;
const MAX_TERMS = 64;
const MAX_ALTERNATIVES = 1000;
export const MAX_LIMIT = 10_000;
export const MAX_BUCKETS = 10_000;
const MAX_INTERVAL_S = 366 * 86400;
/** The most rows one answer may have. */
const MAX_ROWS = 1_000_000;
/** The longest range a query may cover: ten years. */
const MAX_RANGE_MS = 3660 * 86_400_000;

const MINUTE = 60_000, HOUR = 60 * MINUTE, DAY = 24 * HOUR;
const RELATIVE: Record<string, number> = {
  last_5m: 5 * MINUTE, last_15m: 15 * MINUTE, last_30m: 30 * MINUTE, last_1h: HOUR, last_6h: 6 * HOUR, last_12h: 12 * HOUR,
  last_24h: DAY, last_2d: 2 * DAY, last_7d: 7 * DAY, last_30d: 30 * DAY, last_90d: 90 * DAY,
};
export const TIME_RANGES = [...Object.keys(RELATIVE), 'today', 'yesterday'];

/** IANA protocol numbers by the names people type. */
const PROTOCOLS: Record<string, number> = {
  icmp: 1, igmp: 2, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, icmp6: 58, 'ipv6-icmp': 58, icmpv6: 58, ospf: 89, pim: 103, vrrp: 112, sctp: 132,
};

/** Time buckets the default interval is chosen from. */
const NICE_SECONDS = [10, 30, 60, 300, 600, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400];

export function parseQuery(params: URLSearchParams, nowMs: number, tier: Tier = 'auto'): Query {
  const one = single(params);
  // Relative ranges end on a whole second: both tiers then see the same edges
  // (the hot tier may keep flow times to the second).
  nowMs = Math.floor(nowMs / 1000) * 1000;
  const { startMs, endMs } = parseRange(one('time_range'), one('start'), one('end'), nowMs);
  const { groupBy, byTime } = parseGroupBy(one('group_by'));
  const intervalText = one('interval');
  if (intervalText !== undefined && !byTime) throw new ParamError('interval', 'only applies when group_by includes time');
  const interval = byTime ? parseInterval(intervalText, startMs, endMs) : null;
  const filters = params.getAll('filter').flatMap((f) => parseFilter(f));
  if (filters.length > MAX_TERMS) throw new ParamError('filter', `at most ${MAX_TERMS} terms`);
  const metric = oneOf('metric', one('metric') ?? 'bytes', METRICS);
  const limit = parseLimit(one('limit'), groupBy.length > 0);
  const order = oneOf('order', one('order') ?? 'desc', ['asc', 'desc'] as const);
  const asOf = parseAsOf(one('as_of'));
  if (asOf && tier === 'realtime') throw new ParamError('as_of', 'time travel is for the historical tier; /api/netflow/realtime has none');
  const format = oneOf('format', one('format') ?? 'json', ['json', 'csv'] as const);
  if (interval?.kind === 'fixed' && limit !== null && ((limit + 1) * (endMs - startMs)) / (interval.seconds * 1000) > MAX_ROWS) {
    throw new ParamError('limit', `limit x time buckets would exceed ${MAX_ROWS} rows; use a smaller limit or a larger interval`);
  }
  return { startMs, endMs, groupBy, byTime, interval, filters, metric, limit, order, asOf, format, tier };
}

/** A getter for parameters that may appear once; rejects unknown and repeated ones. */
function single(params: URLSearchParams): (name: string) => string | undefined {
  const seen = new Map<string, number>();
  for (const [name, value] of params) {
    if (!KNOWN.has(name)) throw new ParamError(name, `unknown parameter (known: ${[...KNOWN].join(', ')})`);
    if (value.length > MAX_VALUE_LENGTH) throw new ParamError(name, `longer than ${MAX_VALUE_LENGTH} characters`);
    seen.set(name, (seen.get(name) ?? 0) + 1);
    if (!REPEATABLE.has(name) && seen.get(name)! > 1) throw new ParamError(name, 'given more than once');
  }
  return (name) => params.get(name) ?? undefined;
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new ParamError(name, `must be one of ${allowed.join(', ')}`);
  return value as T;
}

export function parseRange(timeRange: string | undefined, start: string | undefined, end: string | undefined, nowMs: number): { startMs: number; endMs: number } {
  if (timeRange !== undefined && (start !== undefined || end !== undefined)) {
    throw new ParamError('time_range', 'give either time_range or start/end, not both');
  }
  let startMs: number, endMs: number;
  if (start !== undefined || end !== undefined) {
    if (start === undefined) throw new ParamError('start', 'required when end is given');
    // To the second, as the hot tier keeps flow times.
    startMs = Math.floor(parseTime('start', start) / 1000) * 1000;
    endMs = end === undefined ? nowMs : Math.floor(parseTime('end', end) / 1000) * 1000;
    if (endMs <= startMs) throw new ParamError('end', 'must be after start');
  } else {
    const name = timeRange ?? 'last_1h';
    const today = Math.floor(nowMs / DAY) * DAY;
    if (name === 'today') { startMs = today; endMs = nowMs; }
    else if (name === 'yesterday') { startMs = today - DAY; endMs = today; }
    else if (RELATIVE[name] !== undefined) { startMs = nowMs - RELATIVE[name]!; endMs = nowMs; }
    else throw new ParamError('time_range', `must be one of ${TIME_RANGES.join(', ')}`);
    // "today" just after midnight is still a valid, tiny range.
    if (endMs <= startMs) endMs = startMs + 1;
  }
  if (endMs - startMs > MAX_RANGE_MS) throw new ParamError(start !== undefined ? 'start' : 'time_range', 'range longer than ten years');
  return { startMs, endMs };
}

const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** ISO 8601 (a date, or date and time; no zone means UTC) or epoch milliseconds. */
export function parseTime(name: string, text: string): number {
  if (/^\d{1,15}$/.test(text)) return Number(text);
  if (!ISO.test(text)) throw new ParamError(name, 'must be ISO 8601 (2025-04-14T12:00:00Z) or epoch milliseconds');
  const zoned = /T.*(Z|[+-]\d{2}:?\d{2})$/.test(text) || !text.includes('T') ? text : `${text}Z`;
  const ms = Date.parse(zoned.includes('T') ? zoned : `${zoned}T00:00:00Z`);
  if (!Number.isFinite(ms)) throw new ParamError(name, 'is not a valid date and time');
  // Date.parse rolls 2025-02-30 over to March: reject what did not round-trip.
  const [y, mo, d] = text.slice(0, 10).split('-').map(Number);
  const check = new Date(Date.UTC(y!, mo! - 1, d!));
  if (check.getUTCMonth() !== mo! - 1 || check.getUTCDate() !== d) throw new ParamError(name, 'is not a valid calendar date');
  return ms;
}

export function parseGroupBy(text: string | undefined): { groupBy: Dimension[]; byTime: boolean } {
  const groupBy: Dimension[] = [];
  let byTime = false;
  if (text === undefined || text === '') return { groupBy, byTime };
  for (const part of text.split(',')) {
    const f = part.trim();
    if (f === 'time') { if (byTime) throw new ParamError('group_by', 'time listed twice'); byTime = true; continue; }
    if (!(DIMENSIONS as readonly string[]).includes(f)) throw new ParamError('group_by', `"${clip(f)}" is not one of ${[...DIMENSIONS, 'time'].join(', ')}`);
    if (groupBy.includes(f as Dimension)) throw new ParamError('group_by', `${f} listed twice`);
    groupBy.push(f as Dimension);
  }
  return { groupBy, byTime };
}

const INTERVAL = /^(\d{1,7})(s|m|h|d|w)$/;
const UNIT_S: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400 };

/** The bucket of a time series: given (1m, 5m, 1h, 1d, month), or chosen for 60-300 points. */
export function parseInterval(text: string | undefined, startMs: number, endMs: number): Interval {
  const spanS = (endMs - startMs) / 1000;
  if (text === undefined || text === '') {
    // The coarsest nice bucket that still gives at least 60 points, else the finest.
    const fit = NICE_SECONDS.filter((s) => spanS / s >= 60);
    return { kind: 'fixed', seconds: fit.length ? fit[fit.length - 1]! : NICE_SECONDS[0]! };
  }
  if (text === 'month' || text === '1M') return { kind: 'month' };
  const m = INTERVAL.exec(text);
  if (!m) throw new ParamError('interval', 'must be a duration like 10s, 1m, 5m, 1h, 1d, 1w, or month');
  const seconds = Number(m[1]) * UNIT_S[m[2]!]!;
  if (seconds < 1) throw new ParamError('interval', 'must be at least 1s');
  // Longer buckets would start decades before the range (and near the engines' integer limits).
  if (seconds > MAX_INTERVAL_S) throw new ParamError('interval', 'must be at most 366d; use month for longer ranges');
  if (spanS / seconds > MAX_BUCKETS) throw new ParamError('interval', `gives more than ${MAX_BUCKETS} buckets for this range; use a larger one`);
  return { kind: 'fixed', seconds };
}

/** One `filter` parameter: `key=v1|v2,key2=v3`. */
export function parseFilter(text: string): FilterTerm[] {
  if (text.trim() === '') return [];
  return text.split(',').map((term) => {
    const eq = term.indexOf('=');
    if (eq < 0) throw new ParamError('filter', `"${clip(term)}" is not key=value`);
    const key = term.slice(0, eq).trim();
    if (!(FILTER_KEYS as readonly string[]).includes(key)) throw new ParamError('filter', `"${clip(key)}" is not a filter key (${FILTER_KEYS.join(', ')})`);
    const alternatives = term.slice(eq + 1).split('|').map((v) => v.trim());
    if (alternatives.length > MAX_ALTERNATIVES) throw new ParamError('filter', `${key}: at most ${MAX_ALTERNATIVES} alternatives`);
    const values = alternatives.map((v) => parseFilterValue(key as FilterKey, v));
    return { key: key as FilterKey, values };
  });
}

function parseFilterValue(key: FilterKey, v: string): FilterValue {
  if (v === '') throw new ParamError('filter', `${key}: empty value`);
  if (key === 'ip' || IP_DIMENSIONS.has(key as Dimension)) {
    try { return { kind: 'ip', net: parseIpNet(v) }; } catch (err) { throw new ParamError('filter', `${key}: ${(err as Error).message.replace(v, clip(v))}`); }
  }
  if (key === 'protocol') {
    const named = PROTOCOLS[v.toLowerCase()];
    if (named !== undefined) return { kind: 'uint', value: named };
    return { kind: 'uint', value: uint('filter', `${key}`, v, 255) };
  }
  if (key === 'src_port' || key === 'dst_port' || key === 'port') return { kind: 'uint', value: uint('filter', key, v, 65535) };
  const text = (key === 'src_as' || key === 'dst_as') ? v.replace(/^AS/i, '') : v;
  return { kind: 'uint', value: uint('filter', key, text, 0xffffffff) };
}

function uint(param: string, what: string, v: string, max: number): number {
  if (!/^\d{1,10}$/.test(v) || Number(v) > max) throw new ParamError(param, `${what}: "${clip(v)}" must be an integer 0-${max}`);
  return Number(v);
}

function parseLimit(text: string | undefined, grouped: boolean): number | null {
  if (text === undefined) return grouped ? 10 : null;
  if (!grouped) throw new ParamError('limit', 'only applies when group_by has a field other than time');
  if (!/^\d{1,6}$/.test(text) || Number(text) < 1 || Number(text) > MAX_LIMIT) throw new ParamError('limit', `must be an integer 1-${MAX_LIMIT}`);
  return Number(text);
}

function parseAsOf(text: string | undefined): AsOf | null {
  if (text === undefined) return null;
  // Iceberg snapshot ids are positive 64-bit integers; kept as text so no digit is lost.
  if (/^\d{1,19}$/.test(text) && BigInt(text) < 2n ** 63n) return { snapshotId: text };
  if (/^\d/.test(text) && text.includes('-')) {
    try { return { timeMs: parseTime('as_of', text) }; } catch { /* reported below */ }
  }
  throw new ParamError('as_of', 'must be a snapshot id or an ISO 8601 time');
}

/** User text quoted in an error is cut short and stripped of control characters. */
function clip(s: string): string {
  const clean = s.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 40)}...` : clean;
}
