// Aggregates in DuckDB's dialect over the Iceberg table's Parquet files, with
// every value a prepared-statement parameter. Column names come only from the
// whitelisted dimension list. IPs are stored as canonical text: an address
// matches by equality, an IPv4 block by its whole octets as a text prefix plus
// a range on the next octet, an IPv6 block by the 32 hex digits of the address.
import { ipBytes, ipText } from './ip.js';
import { IP_DIMENSIONS, filterColumns, type Aggregate, type Dimension, type FilterTerm, type FilterValue } from './model.js';

export type DuckParam = string | number | bigint | string[];

/** Macros the SQL relies on; created once per DuckDB instance. */
export const DUCKDB_MACROS = [
  // 32 lowercase hex digits of an IPv6 address in text form (:: expanded).
  `CREATE OR REPLACE MACRO srnf_v6hex(s) AS array_to_string(list_transform(
     CASE WHEN contains(s, '::') THEN list_concat(
       CASE WHEN split_part(s, '::', 1) = '' THEN []::VARCHAR[] ELSE string_split(split_part(s, '::', 1), ':') END,
       list_transform(range(8 - (CASE WHEN split_part(s, '::', 1) = '' THEN 0 ELSE len(string_split(split_part(s, '::', 1), ':')) END)
                              - (CASE WHEN split_part(s, '::', 2) = '' THEN 0 ELSE len(string_split(split_part(s, '::', 2), ':')) END)), x -> '0'),
       CASE WHEN split_part(s, '::', 2) = '' THEN []::VARCHAR[] ELSE string_split(split_part(s, '::', 2), ':') END)
     ELSE string_split(s, ':') END, g -> lpad(lower(g), 4, '0')), '')`,
  // The 16 bytes of an address as hex, IPv4 mapped: sorts the way ClickHouse sorts FixedString(16) addresses.
  `CREATE OR REPLACE MACRO srnf_ip16(s) AS CASE WHEN contains(s, ':') THEN srnf_v6hex(s)
     WHEN s = '' THEN ''
     ELSE '00000000000000000000ffff' || lower(lpad(to_hex(TRY_CAST(split_part(s, '.', 1) AS INT)), 2, '0') || lpad(to_hex(TRY_CAST(split_part(s, '.', 2) AS INT)), 2, '0')
       || lpad(to_hex(TRY_CAST(split_part(s, '.', 3) AS INT)), 2, '0') || lpad(to_hex(TRY_CAST(split_part(s, '.', 4) AS INT)), 2, '0')) END`,
];

class Params {
  readonly values: DuckParam[] = [];
  add(v: DuckParam): string { this.values.push(v); return `$${this.values.length}`; }
}

const col = (d: Dimension) => `"${d}"`;

function int(n: number): string {
  if (!Number.isSafeInteger(n)) throw new Error(`not an integer: ${n}`);
  return String(n);
}

/**
 * One part of the range and the files answering it: flows (those wholly
 * inside the part need no time filter, those on its edges do) or one rollup
 * set's files (sums per grain, sampling-rate scaled already; the part is on
 * the set's grain, so the time filter selects whole rows).
 */
export type DuckPiece =
  | { kind: 'raw'; fromMs: number; toMs: number; inside: string[]; edge: string[] }
  | { kind: 'rollup'; fromMs: number; toMs: number; files: string[]; eitherHost: boolean };

/**
 * SELECT keys [, bucket], sums over the pieces (each summed on its own, then
 * together) WHERE filters GROUP BY ... [ORDER BY rank, keys LIMIT n]. At least
 * one piece with a file must be given.
 */
export function duckdbAggregate(agg: Aggregate, pieces: DuckPiece[]): { sql: string; params: DuckParam[] } {
  const p = new Params();
  const parts = pieces.map((piece) => pieceSql(agg, piece, p)).filter((x): x is string => x !== null);
  if (!parts.length) throw new Error('duckdbAggregate needs at least one file');
  const keys = agg.keys.map((_, i) => `k${i}`);
  const group = [...keys, ...(agg.interval ? ['bucket'] : [])];
  let sql = `SELECT ${[...group, 'sum(b) AS bytes', 'sum(pk) AS packets', 'sum(f) AS flows'].join(', ')} FROM (${parts.join(' UNION ALL ')})`;
  if (group.length) sql += ` GROUP BY ${group.join(', ')}`;
  if (agg.top) {
    const dir = agg.top.order === 'desc' ? 'DESC' : 'ASC';
    const ties = agg.keys.map((d, i) => (IP_DIMENSIONS.has(d) ? `srnf_ip16(k${i})` : `k${i}`));
    sql += ` ORDER BY ${[`${agg.top.rank} ${dir}`, ...ties].join(', ')} LIMIT ${p.add(agg.top.limit)}`;
  }
  return { sql, params: p.values };
}

function pieceSql(agg: Aggregate, piece: DuckPiece, p: Params): string | null {
  const range = () => `"timestamp" >= make_timestamptz(${p.add(BigInt(piece.fromMs) * 1000n)}::BIGINT) AND "timestamp" < make_timestamptz(${p.add(BigInt(piece.toMs) * 1000n)}::BIGINT)`;
  const reads: string[] = [];
  if (piece.kind === 'raw') {
    if (piece.inside.length) reads.push(`SELECT * FROM read_parquet(${p.add(piece.inside)})`);
    if (piece.edge.length) reads.push(`SELECT * FROM read_parquet(${p.add(piece.edge)}) WHERE ${range()}`);
  } else if (piece.files.length) {
    reads.push(`SELECT * FROM read_parquet(${p.add(piece.files)}) WHERE ${range()}`);
  }
  if (!reads.length) return null;
  const source = reads.length === 1 ? `(${reads[0]})` : `(${reads.join(' UNION ALL ')})`;
  const hostRollup = piece.kind === 'rollup' && piece.eitherHost;
  const where = agg.filters.map((t) => (hostRollup && t.key === 'ip' ? `"host" = ${p.add((t.values[0] as { kind: 'ip'; net: { text: string } }).net.text)}` : termSql(t, p)));
  if (agg.only) where.push(onlySql(agg.keys, agg.only, p));
  const select = agg.keys.map((d, i) => `${col(d)} AS k${i}`);
  const group = agg.keys.map((_, i) => `k${i}`);
  if (agg.interval) {
    select.push(agg.interval.kind === 'month'
      ? `epoch_ms(date_trunc('month', make_timestamp(epoch_us("timestamp")))) AS bucket`
      // The width is a literal: DuckDB folds it (a parameter here makes the grouping 5x slower).
      // It is an integer we validated, checked again as one.
      : `(epoch_us("timestamp") // ${int(agg.interval.seconds * 1_000_000)}) * ${int(agg.interval.seconds * 1000)} AS bucket`);
    group.push('bucket');
  }
  select.push(piece.kind === 'raw'
    // A sampling rate of 0 means the exporter did not say: count the record once.
    ? 'sum("bytes" * greatest("sampling_rate", 1)) AS b, sum("packets" * greatest("sampling_rate", 1)) AS pk, count(*) AS f'
    : 'sum("bytes") AS b, sum("packets") AS pk, sum("flows") AS f');
  let sql = `SELECT ${select.join(', ')} FROM ${source}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
  if (group.length) sql += ` GROUP BY ${group.join(', ')}`;
  return sql;
}

function termSql(t: FilterTerm, p: Params): string {
  const ors = filterColumns(t.key).flatMap((d) => valuesSql(d, t.values, p));
  return `(${ors.join(' OR ')})`;
}

function valuesSql(d: Dimension, values: FilterValue[], p: Params): string[] {
  const exact: string[] = [];
  const out: string[] = [];
  for (const v of values) {
    if (v.kind === 'uint') { exact.push(p.add(v.value)); continue; }
    const [addr, prefix] = v.net.text.split('/');
    if (prefix === undefined) { exact.push(p.add(addr!)); continue; }
    out.push(v.net.version === 4 ? v4BlockSql(d, addr!, Number(prefix), p) : v6BlockSql(d, v.net.lo, v.net.hi, p));
  }
  if (exact.length) out.unshift(exact.length === 1 ? `${col(d)} = ${exact[0]}` : `${col(d)} IN (${exact.join(', ')})`);
  return out;
}

/** a.b.c.d/n: the whole octets as a text prefix, the next octet by range. */
function v4BlockSql(d: Dimension, addr: string, prefix: number, p: Params): string {
  const octets = addr.split('.').map(Number);
  const whole = Math.floor(prefix / 8), rest = prefix % 8;
  const parts = [`NOT contains(${col(d)}, ':')`, `${col(d)} <> ''`];
  if (whole > 0) parts.push(`starts_with(${col(d)}, ${p.add(`${octets.slice(0, whole).join('.')}.`)})`);
  if (rest > 0) {
    const lo = octets[whole]! & (0xff << (8 - rest)) & 0xff, hi = lo | (0xff >> rest);
    parts.push(`TRY_CAST(split_part(${col(d)}, '.', ${whole + 1}) AS INT) BETWEEN ${p.add(lo)} AND ${p.add(hi)}`);
  }
  return `(${parts.join(' AND ')})`;
}

const MAPPED_LO = '00000000000000000000ffff00000000', MAPPED_HI = '00000000000000000000ffffffffffff';

function v6BlockSql(d: Dimension, lo: Uint8Array, hi: Uint8Array, p: Params): string {
  const [l, h] = [Buffer.from(lo).toString('hex'), Buffer.from(hi).toString('hex')];
  // A block reaching into ::ffff:0:0/96 holds IPv4 addresses too (stored as dotted text).
  if (l <= MAPPED_HI && h >= MAPPED_LO) return `(${col(d)} <> '' AND srnf_ip16(${col(d)}) BETWEEN ${p.add(l)} AND ${p.add(h)})`;
  return `(contains(${col(d)}, ':') AND srnf_v6hex(${col(d)}) BETWEEN ${p.add(l)} AND ${p.add(h)})`;
}

function onlySql(keys: Dimension[], only: (string | number)[][], p: Params): string {
  if (!only.length) return 'false';
  // One list parameter a key, however many groups (the executor sends them all at once: IcebergTier's onlyLimit);
  // unnest side by side pairs them up again.
  const lists = keys.map((d, i) => {
    const list = p.add(only.map((k) => String(k[i])));
    return IP_DIMENSIONS.has(d) ? `unnest(${list})` : `unnest(${list}::BIGINT[])`;
  });
  return `(${keys.map(col).join(', ')}) IN (SELECT ${lists.join(', ')})`;
}

/** A group key from DuckDB: IPs in canonical text (as ClickHouse answers them), others as numbers. */
export function canonicalKey(d: Dimension, v: unknown): string | number {
  if (!IP_DIMENSIONS.has(d)) return Number(v);
  const b = ipBytes(String(v));
  return b ? ipText(b) : String(v);
}
