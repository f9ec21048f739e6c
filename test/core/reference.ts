// The answers the API should give, worked out the plain way from the records a
// test generated: loop, match, add, sort. Independent of the core-extension's
// code on purpose: CIDR matching uses node:net's BlockList, ordering its own
// address expansion, and the parameters are taken as the test writes them.
import { BlockList, isIPv4 } from 'node:net';
import type { FlowRecord } from '../../common/flow.js';

export type Dim = 'src_ip' | 'dst_ip' | 'src_port' | 'dst_port' | 'protocol' | 'exporter' | 'input_if' | 'output_if' | 'src_as' | 'dst_as';
const IPS = new Set<Dim>(['src_ip', 'dst_ip', 'exporter']);

export interface RefQuery {
  startMs: number;
  endMs: number;
  groupBy: Dim[];
  /** Bucket seconds, or 'month'; undefined = not by time. */
  interval?: number | 'month';
  /** Each inner list is ANDed; each term is [key, alternatives]. */
  filters: [string, string[]][];
  metric: 'bytes' | 'packets' | 'flows' | 'bps' | 'pps';
  limit?: number;
  order?: 'asc' | 'desc';
}

const PROTOCOL_NAMES: Record<string, number> = { tcp: 6, udp: 17, icmp: 1 };

function matches(r: FlowRecord, key: string, alternatives: string[]): boolean {
  const cols: Dim[] = key === 'ip' ? ['src_ip', 'dst_ip'] : key === 'port' ? ['src_port', 'dst_port'] : [key as Dim];
  return cols.some((c) => alternatives.some((v) => {
    const have = (r as unknown as Record<string, string | number>)[c]!;
    if (IPS.has(c)) {
      const text = String(have);
      if (text === '') return false;
      const [addr, prefix] = v.split('/');
      const family = isIPv4(addr!) ? 'ipv4' : 'ipv6';
      if ((family === 'ipv4') !== isIPv4(text)) return false;
      const list = new BlockList();
      if (prefix === undefined) list.addAddress(addr!, family);
      else list.addSubnet(addr!, Number(prefix), family);
      return list.check(text, family);
    }
    const want = PROTOCOL_NAMES[v] ?? Number(v);
    return Number(have) === want;
  }));
}

function bucketOf(ms: number, interval: number | 'month'): number {
  if (interval === 'month') { const d = new Date(ms); return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1); }
  return ms - (((ms % (interval * 1000)) + interval * 1000) % (interval * 1000));
}

function nextBucket(b: number, interval: number | 'month'): number {
  if (interval === 'month') { const d = new Date(b); return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1); }
  return b + interval * 1000;
}

/** 32 hex digits of an address, IPv4 mapped into IPv6, for ordering ties. */
export function addressHex(text: string): string {
  if (text === '') return '';
  if (isIPv4(text)) return '00000000000000000000ffff' + text.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join('');
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => g.padStart(4, '0').toLowerCase()).join('');
}

interface Acc { bytes: number; packets: number; flows: number }

export function expected(records: FlowRecord[], q: RefQuery): Record<string, unknown>[] {
  const rate = (r: FlowRecord) => Math.max(1, r.sampling_rate);
  const inRange = records.filter((r) => r.timestamp >= q.startMs && r.timestamp < q.endMs && q.filters.every(([k, alts]) => matches(r, k, alts)));
  const keyOf = (r: FlowRecord) => q.groupBy.map((d) => (r as unknown as Record<string, string | number>)[d]!);
  const add = (m: Map<string, Acc & { keys: (string | number)[] }>, k: string, keys: (string | number)[], r: FlowRecord) => {
    const a = m.get(k) ?? m.set(k, { keys, bytes: 0, packets: 0, flows: 0 }).get(k)!;
    a.bytes += r.bytes * rate(r); a.packets += r.packets * rate(r); a.flows += 1;
  };
  const rank = q.metric === 'bps' ? 'bytes' : q.metric === 'pps' ? 'packets' : q.metric;
  const perSecond = (a: Acc, seconds: number) => (q.metric === 'bps' ? { bps: (a.bytes * 8) / seconds } : q.metric === 'pps' ? { pps: a.packets / seconds } : {});
  const row = (keys: (string | number)[] | null, a: Acc, seconds: number, ts?: number) => ({
    ...Object.fromEntries(q.groupBy.map((d, i) => [d, keys ? keys[i] : null])),
    ...(ts !== undefined ? { timestamp: new Date(ts).toISOString().replace('.000Z', 'Z') } : {}),
    bytes: a.bytes, packets: a.packets, flows: a.flows, ...perSecond(a, seconds), ...(keys ? {} : { other: true }),
  });
  const compareKeys = (x: (string | number)[], y: (string | number)[]) => {
    for (let i = 0; i < q.groupBy.length; i++) {
      const d = q.groupBy[i]!;
      const c = IPS.has(d) ? addressHex(String(x[i])).localeCompare(addressHex(String(y[i]))) : Number(x[i]) - Number(y[i]);
      if (c) return c;
    }
    return 0;
  };
  const rangeSeconds = (q.endMs - q.startMs) / 1000;

  // Groups over the whole range, ranked.
  const groups = new Map<string, Acc & { keys: (string | number)[] }>();
  for (const r of inRange) add(groups, JSON.stringify(keyOf(r)), keyOf(r), r);
  const dir = (q.order ?? 'desc') === 'desc' ? -1 : 1;
  const ranked = [...groups.values()].sort((a, b) => (a[rank] - b[rank]) * dir || compareKeys(a.keys, b.keys));
  const total = (rs: FlowRecord[]): Acc => rs.reduce((a, r) => ({ bytes: a.bytes + r.bytes * rate(r), packets: a.packets + r.packets * rate(r), flows: a.flows + 1 }), { bytes: 0, packets: 0, flows: 0 });

  if (q.interval === undefined) {
    if (!q.groupBy.length) return [row([], total(inRange), rangeSeconds)];
    const top = ranked.slice(0, q.limit ?? 10);
    const out = top.map((g) => row(g.keys, g, rangeSeconds));
    if (ranked.length > top.length) {
      const rest = ranked.slice(top.length).reduce((a, g) => ({ bytes: a.bytes + g.bytes, packets: a.packets + g.packets, flows: a.flows + g.flows }), { bytes: 0, packets: 0, flows: 0 });
      out.push(row(null, rest, rangeSeconds));
    }
    return out;
  }

  const out: Record<string, unknown>[] = [];
  const chosen = q.groupBy.length ? ranked.slice(0, q.limit ?? 10) : [];
  const chosenKeys = new Map(chosen.map((g, i) => [JSON.stringify(g.keys), i]));
  const hasOther = q.groupBy.length > 0 && ranked.length > chosen.length;
  for (let b = bucketOf(q.startMs, q.interval); b < q.endMs; b = nextBucket(b, q.interval)) {
    const seconds = (Math.min(nextBucket(b, q.interval), q.endMs) - Math.max(b, q.startMs)) / 1000;
    const inBucket = inRange.filter((r) => bucketOf(r.timestamp, q.interval!) === b);
    if (!q.groupBy.length) { out.push(row([], total(inBucket), seconds, b)); continue; }
    const per = new Map<string, Acc & { keys: (string | number)[] }>();
    const rest: Acc = { bytes: 0, packets: 0, flows: 0 };
    for (const r of inBucket) {
      const k = JSON.stringify(keyOf(r));
      if (chosenKeys.has(k)) add(per, k, keyOf(r), r);
      else { rest.bytes += r.bytes * rate(r); rest.packets += r.packets * rate(r); rest.flows += 1; }
    }
    for (const g of [...per.values()].sort((x, y) => chosenKeys.get(JSON.stringify(x.keys))! - chosenKeys.get(JSON.stringify(y.keys))!)) out.push(row(g.keys, g, seconds, b));
    if (hasOther && rest.flows > 0) out.push(row(null, rest, seconds, b));
  }
  return out;
}
