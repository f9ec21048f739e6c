// Aggregates in ClickHouse's dialect, for Debian's 18.16 and chDB's modern
// engine alike, over the writer's schema (consumers/clickhouse/schema.ts).
// 18.16 has no query parameters, so every value is rendered as a typed literal
// from the validated, canonical query (numbers are integers we range-checked,
// addresses are hex of 16 bytes we computed, through the schema's literal
// helpers); column names come only from the whitelisted dimension list. A
// range is answered from the cheapest rollup that has every needed dimension,
// with finer rollups, and finally the raw table, filling the edges its grain
// cannot cover.
import { DATA_ONLY, HOST_COLUMN, ipLiteral, ipRange, timeBucket, timeLiteral } from '../../consumers/clickhouse/schema.js';
import { ipBytes } from './ip.js';
import { cover, type Covering, type RollupTable } from './rollup-plan.js';
import { IP_DIMENSIONS, filterColumns, type Aggregate, type Dimension, type FilterTerm, type FilterValue } from './model.js';

/** A table the planner may read: the raw flows or a rollup of them (from the writer's schema). */
export interface ChTable extends RollupTable {
  /** Database-qualified name. */
  name: string;
  /** Sums as aggregate expressions (sampling-rate scaled bytes and packets, records). */
  metrics: { bytes: string; packets: string; flows: string };
}

export type Piece = Covering<ChTable>;

/** The cheapest tables covering the aggregate's range (see rollup-plan.ts); each piece is [table, fromMs, toMs). */
export function choosePieces(tables: ChTable[], agg: Pick<Aggregate, 'startMs' | 'endMs' | 'keys' | 'filters' | 'interval'>): Piece[] {
  const raw = tables.find((t) => t.kind === 'raw');
  if (!raw) throw new Error('no raw flows table');
  return cover(tables, raw, agg, agg.startMs, agg.endMs);
}

/**
 * One SELECT over the pieces (UNION ALL of pre-aggregated pieces, then summed),
 * grouped by k0..kn [and bucket], ranked when `top` is set. IP keys come back
 * as 32 hex digits (hex of FixedString(16)), buckets as epoch seconds.
 */
export function clickhouseAggregate(agg: Aggregate, pieces: Piece[]): string {
  const inner = pieces.map((p) => pieceSql(agg, p.table, p.fromMs, p.toMs));
  const keys = agg.keys.map((_, i) => `r${i}`);
  const group = [...keys, ...(agg.interval ? ['bucket'] : [])];
  const sums = 'sum(b) AS bytes, sum(p) AS packets, sum(f) AS flows';
  let sql = `SELECT ${[...group, sums].join(', ')} FROM (${inner.join(' UNION ALL ')})`;
  if (group.length) sql += ` GROUP BY ${group.join(', ')}`;
  if (agg.top) {
    const dir = agg.top.order === 'desc' ? 'DESC' : 'ASC';
    // Ties by key: IPs by their 16 bytes, numbers numerically.
    sql += ` ORDER BY ${[`${agg.top.rank} ${dir}`, ...keys.map((k) => `${k} ASC`)].join(', ')} LIMIT ${int(agg.top.limit)}`;
  }
  // Addresses are grouped as their 16 bytes and turned into hex only for the rows that come back.
  const out = agg.keys.map((d, i) => `${IP_DIMENSIONS.has(d) ? `lower(hex(r${i}))` : `r${i}`} AS k${i}`);
  return `SELECT ${[...out, ...(agg.interval ? ['bucket'] : []), 'bytes', 'packets', 'flows'].join(', ')} FROM (${sql})`;
}

function pieceSql(agg: Aggregate, t: ChTable, fromMs: number, toMs: number): string {
  const select = agg.keys.map((d, i) => `${d} AS r${i}`);
  const group = agg.keys.map((_, i) => `r${i}`);
  if (agg.interval) { select.push(`${bucketSql(agg.interval)} AS bucket`); group.push('bucket'); }
  select.push(`${t.metrics.bytes} AS b`, `${t.metrics.packets} AS p`, `${t.metrics.flows} AS f`);
  // The writer's exactly-once marker rows are not flows.
  const where = [DATA_ONLY, `timestamp >= ${timeLiteral(fromMs)}`, `timestamp < ${timeLiteral(toMs)}`, ...agg.filters.map((f) => termSql(f, t))];
  if (agg.only) where.push(onlySql(agg.keys, agg.only));
  let sql = `SELECT ${select.join(', ')} FROM ${t.name} WHERE ${where.join(' AND ')}`;
  if (group.length) sql += ` GROUP BY ${group.join(', ')}`;
  return sql;
}

/** The bucket start as epoch seconds. */
function bucketSql(interval: NonNullable<Aggregate['interval']>): string {
  if (interval.kind === 'month') return `toUInt32(toDateTime(toStartOfMonth(timestamp), 'UTC'))`;
  return `toUInt32(${timeBucket('timestamp', interval.seconds)})`;
}

function termSql(term: FilterTerm, t: ChTable): string {
  // On the host rollup, the one address asked on either side is its host (see fits).
  if (t.eitherHost && term.key === 'ip') return `${HOST_COLUMN} = ${ipLiteral((term.values[0] as { kind: 'ip'; net: { lo: Uint8Array } }).net.lo)}`;
  return `(${filterColumns(term.key).flatMap((d) => valuesSql(d, term.values)).join(' OR ')})`;
}

function valuesSql(d: Dimension, values: FilterValue[]): string[] {
  const exact: string[] = [];
  const out: string[] = [];
  for (const v of values) {
    if (v.kind === 'uint') { exact.push(int(v.value)); continue; }
    if (!v.net.text.includes('/')) { exact.push(ipLiteral(v.net.lo)); continue; }
    out.push(ipRange(d, v.net.lo, v.net.hi));
  }
  if (exact.length) out.unshift(exact.length === 1 ? `${col(d)} = ${exact[0]}` : `${col(d)} IN (${exact.join(', ')})`);
  return out;
}

function onlySql(keys: Dimension[], only: (string | number)[][]): string {
  if (!only.length) return '0';
  const lit = (d: Dimension, v: string | number) => (IP_DIMENSIONS.has(d) ? ipTextLiteral(String(v)) : int(Number(v)));
  if (keys.length === 1) return `${col(keys[0]!)} IN (${only.map((k) => lit(keys[0]!, k[0]!)).join(', ')})`;
  return `(${keys.map(col).join(', ')}) IN (${only.map((k) => `(${keys.map((d, i) => lit(d, k[i]!)).join(', ')})`).join(', ')})`;
}

/** Dimension names are the writer's column names (a whitelist, never user text). */
const col = (d: Dimension) => d;

/** An integer literal; anything else is a bug upstream, never user text. */
export function int(n: number): string {
  if (!Number.isSafeInteger(n)) throw new Error(`not an integer: ${n}`);
  return String(n);
}

/** A canonical address text (as we returned it) as a literal; '' for "no address". */
function ipTextLiteral(text: string): string {
  // No address is stored as 16 zero bytes (see hexToIp).
  if (text === '') return ipLiteral(new Uint8Array(16));
  const b = ipBytes(text);
  if (!b) throw new Error(`not an address: ${text}`);
  return ipLiteral(b);
}
