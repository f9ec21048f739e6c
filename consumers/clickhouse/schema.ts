// The hot tier's tables, in one place: the raw flows table, the one-minute
// rollups and the materialized views that feed them, the versioned migrations
// that create them, and the helpers the query planner renders SQL with. The
// same SQL runs on ClickHouse 18.16 and on chDB's modern engine; what only
// modern engines have (codecs, LowCardinality, TTL) is switched by the engine's
// capabilities, never a second copy of a statement.
//
// Column semantics (for whoever queries):
// - `timestamp` is the END of the flow (last packet), DateTime('UTC') to the
//   second; in a rollup it is the start of the row's minute. Partitions are UTC
//   days: PARTITION BY toDate(timestamp).
// - `bytes` and `packets` are raw, as exported: multiply by `sampling_rate` for
//   traffic estimates (TableSpec.metrics does). `flows` in a rollup counts records.
// - IP columns (src_ip, dst_ip, exporter, next_hop) are FixedString(16):
//   IPv6 bytes, IPv4 as IPv4-mapped (::ffff:a.b.c.d), an absent address as 16
//   zero bytes. They order as the 16 bytes do, so a CIDR block is one range.
//   Render constants with ipLiteral / ipRange, read them back with ipHex.
//   (Modern engines have an IPv6 type; the schema keeps FixedString(16) on every
//   engine so literals, ordering and results are identical everywhere.)
// - `flow_start` and `time_received` are ALIAS columns (not in SELECT *),
//   stored as offsets from `timestamp` because they compress ten times better.
// - `ingest_seq` is 0 on every flow. A row with ingest_seq != 0 is the writer's
//   exactly-once marker for one stream message (all counters 0, all addresses
//   zero): every query adds DATA_ONLY (`ingest_seq = 0`) to its WHERE clause.
import type { Capabilities } from './engine.js';

// ---------------------------------------------------------------------------
// Columns

/** How the writer fills a column from a record (see rows.ts). */
export type ColumnSource =
  | { kind: 'seconds'; field: 'timestamp' }
  | { kind: 'uint'; field: UintField; max: number }
  | { kind: 'ip'; field: 'src_ip' | 'dst_ip' | 'exporter' | 'next_hop' }
  /** seconds from the other time to `timestamp` (flow_duration) or from `timestamp` to it (receive_delay) */
  | { kind: 'offset'; field: 'flow_start' | 'time_received' }
  | { kind: 'collector' }
  | { kind: 'seq' };

export type UintField = 'src_port' | 'dst_port' | 'protocol' | 'bytes' | 'packets' | 'sampling_rate' | 'source_id' | 'input_if' | 'output_if'
  | 'tcp_flags' | 'tos' | 'src_as' | 'dst_as' | 'src_mask' | 'dst_mask' | 'ip_version' | 'flow_version';

export interface FlowColumn {
  name: string;
  /** The ClickHouse type on every engine (LowCardinality is added where supported). */
  type: string;
  source: ColumnSource;
  /** T64 suits integers with small ranges; random-looking values (ports) do better with ZSTD alone. */
  codec: 'T64' | 'ZSTD';
  lowCardinality?: boolean;
  doc: string;
}

const U8 = 255, U16 = 65_535, U32 = 4_294_967_295, U53 = Number.MAX_SAFE_INTEGER;

/** The physical columns of the flows table, in the order of every payload the writer sends. */
export const FLOW_COLUMNS: readonly FlowColumn[] = [
  { name: 'timestamp', type: "DateTime('UTC')", source: { kind: 'seconds', field: 'timestamp' }, codec: 'T64', doc: 'end of the flow (last packet), UTC, to the second' },
  { name: 'exporter', type: 'FixedString(16)', source: { kind: 'ip', field: 'exporter' }, codec: 'ZSTD', doc: 'address the export datagram came from' },
  { name: 'protocol', type: 'UInt8', source: { kind: 'uint', field: 'protocol', max: U8 }, codec: 'T64', doc: 'IP protocol number' },
  { name: 'src_ip', type: 'FixedString(16)', source: { kind: 'ip', field: 'src_ip' }, codec: 'ZSTD', doc: 'source address' },
  { name: 'dst_ip', type: 'FixedString(16)', source: { kind: 'ip', field: 'dst_ip' }, codec: 'ZSTD', doc: 'destination address' },
  { name: 'src_port', type: 'UInt16', source: { kind: 'uint', field: 'src_port', max: U16 }, codec: 'ZSTD', doc: 'source port (0 when the protocol has none)' },
  { name: 'dst_port', type: 'UInt16', source: { kind: 'uint', field: 'dst_port', max: U16 }, codec: 'ZSTD', doc: 'destination port; ICMP type << 8 | code' },
  { name: 'bytes', type: 'UInt64', source: { kind: 'uint', field: 'bytes', max: U53 }, codec: 'T64', doc: 'octets as exported (raw, multiply by sampling_rate)' },
  { name: 'packets', type: 'UInt64', source: { kind: 'uint', field: 'packets', max: U53 }, codec: 'T64', doc: 'packets as exported (raw, multiply by sampling_rate)' },
  { name: 'sampling_rate', type: 'UInt32', source: { kind: 'uint', field: 'sampling_rate', max: U32 }, codec: 'T64', doc: '1 in N packets sampled (1 = unsampled)' },
  { name: 'source_id', type: 'UInt32', source: { kind: 'uint', field: 'source_id', max: U32 }, codec: 'T64', doc: 'v9 source id; v5 engine_type << 8 | engine_id' },
  { name: 'input_if', type: 'UInt32', source: { kind: 'uint', field: 'input_if', max: U32 }, codec: 'T64', doc: 'SNMP index of the input interface' },
  { name: 'output_if', type: 'UInt32', source: { kind: 'uint', field: 'output_if', max: U32 }, codec: 'T64', doc: 'SNMP index of the output interface' },
  { name: 'tcp_flags', type: 'UInt16', source: { kind: 'uint', field: 'tcp_flags', max: U16 }, codec: 'T64', doc: 'OR of the TCP flags seen' },
  { name: 'tos', type: 'UInt8', source: { kind: 'uint', field: 'tos', max: U8 }, codec: 'T64', doc: 'IP type of service / DSCP byte' },
  { name: 'src_as', type: 'UInt32', source: { kind: 'uint', field: 'src_as', max: U32 }, codec: 'T64', doc: 'source AS number' },
  { name: 'dst_as', type: 'UInt32', source: { kind: 'uint', field: 'dst_as', max: U32 }, codec: 'T64', doc: 'destination AS number' },
  { name: 'src_mask', type: 'UInt8', source: { kind: 'uint', field: 'src_mask', max: 128 }, codec: 'T64', doc: 'source prefix length' },
  { name: 'dst_mask', type: 'UInt8', source: { kind: 'uint', field: 'dst_mask', max: 128 }, codec: 'T64', doc: 'destination prefix length' },
  { name: 'next_hop', type: 'FixedString(16)', source: { kind: 'ip', field: 'next_hop' }, codec: 'ZSTD', doc: 'next-hop address (zero when not exported)' },
  { name: 'flow_duration', type: 'Int64', source: { kind: 'offset', field: 'flow_start' }, codec: 'T64', doc: 'seconds from flow_start to timestamp' },
  { name: 'receive_delay', type: 'Int64', source: { kind: 'offset', field: 'time_received' }, codec: 'T64', doc: 'seconds from timestamp to time_received' },
  { name: 'ip_version', type: 'UInt8', source: { kind: 'uint', field: 'ip_version', max: U8 }, codec: 'T64', doc: '4 or 6' },
  { name: 'flow_version', type: 'UInt16', source: { kind: 'uint', field: 'flow_version', max: U16 }, codec: 'T64', doc: 'NetFlow export version (5 or 9)' },
  { name: 'collector_id', type: 'String', source: { kind: 'collector' }, codec: 'ZSTD', lowCardinality: true, doc: 'the checker that published the record' },
  { name: 'ingest_seq', type: 'UInt64', source: { kind: 'seq' }, codec: 'T64', doc: '0 for flows; the stream sequence on exactly-once marker rows' },
];

/** Computed columns of the flows table (name, type, expression). */
export const ALIAS_COLUMNS = [
  { name: 'flow_start', type: "DateTime('UTC')", expr: 'timestamp - flow_duration', doc: 'start of the flow (first packet), UTC, to the second' },
  { name: 'time_received', type: "DateTime('UTC')", expr: 'timestamp + receive_delay', doc: 'when the checker received the datagram, UTC, to the second' },
] as const;

export const PAYLOAD_COLUMNS: readonly string[] = FLOW_COLUMNS.map((c) => c.name);

// ---------------------------------------------------------------------------
// Tables

/** The record fields a query groups and filters by (core-extension's Dimension names). */
export type Dimension = 'src_ip' | 'dst_ip' | 'src_port' | 'dst_port' | 'protocol' | 'exporter' | 'input_if' | 'output_if' | 'src_as' | 'dst_as';
const ALL_DIMENSIONS: readonly Dimension[] = ['src_ip', 'dst_ip', 'src_port', 'dst_port', 'protocol', 'exporter', 'input_if', 'output_if', 'src_as', 'dst_as'];

export interface TableSpec {
  /** Table name inside the database (qualify with tableRef). */
  name: string;
  kind: 'raw' | 'rollup';
  /** Resolution of `timestamp`: 1 s for the raw table, 60 s, 3600 s or 86400 s for the rollups. */
  grainSeconds: number;
  /** Dimensions the table can group and filter by. */
  dimensions: readonly Dimension[];
  /**
   * Set on the host rollup: each flow is stored once per distinct address it
   * has (`host` = src_ip, and dst_ip when different), so "this address on
   * either side" is `host = address`, counted once per flow. Only a single
   * address can be asked this way (a flow between two asked addresses would
   * count twice); grouping by src_ip or dst_ip is not possible.
   */
  eitherHost?: boolean;
  /** Aggregate expressions of each metric over this table (bytes and packets scaled by sampling_rate). */
  metrics: { bytes: string; packets: string; flows: string };
}

export interface RollupSpec extends TableSpec {
  kind: 'rollup';
  /** The Null table a recovery insert for this rollup alone goes through. */
  feed: string;
}

export const RAW: TableSpec = {
  name: 'flows',
  kind: 'raw',
  grainSeconds: 1,
  dimensions: ALL_DIMENSIONS,
  metrics: { bytes: 'sum(bytes * sampling_rate)', packets: 'sum(packets * sampling_rate)', flows: 'count()' },
};

const ROLLUP_METRICS = { bytes: 'sum(bytes * sampling_rate)', packets: 'sum(packets * sampling_rate)', flows: 'sum(flows)' };

const MINUTE = 60, HOUR = 3600, DAY = 86_400;

function rollup(name: string, dimensions: Dimension[], grainSeconds = MINUTE, eitherHost = false): RollupSpec {
  return { name, kind: 'rollup', grainSeconds, dimensions, ...(eitherHost ? { eitherHost } : {}), metrics: ROLLUP_METRICS, feed: `${name}_feed` };
}

/** The column of the host rollup holding either side's address. */
export const HOST_COLUMN = 'host';

const INTERFACES = rollup('flows_1m_interfaces', ['exporter', 'input_if', 'output_if', 'protocol', 'src_as', 'dst_as']);

/** The rollups migration 2 left (frozen: migrations never change once shipped). */
const V2_ROLLUPS: readonly RollupSpec[] = [
  INTERFACES,
  rollup('flows_1m_src_ports', ['exporter', 'protocol', 'src_port']),
  rollup('flows_1m_dst_hosts', ['exporter', 'protocol', 'dst_ip']),
  rollup('flows_1m_src_hosts', ['exporter', 'protocol', 'src_ip']),
  rollup('flows_1m_dst_ports', ['exporter', 'protocol', 'dst_port']),
];

/**
 * Coarser rollups, so that a dashboard's top-N over days reads a few hundred
 * thousand rows, not one per (minute, address): hourly and daily on each side
 * of addresses and ports (without protocol for addresses: per hour, a host's
 * rows then shrink to one per exporter), links per minute (traffic over time
 * without the AS numbers that make the interface rollup wide), and the host
 * rollup answering one address's history on either side, sorted by address.
 */
const V3_ROLLUPS: readonly RollupSpec[] = [
  rollup('flows_1m_links', ['exporter', 'protocol', 'input_if', 'output_if']),
  rollup('flows_1h_src_ports', ['exporter', 'protocol', 'src_port'], HOUR),
  rollup('flows_1d_src_ports', ['exporter', 'protocol', 'src_port'], DAY),
  rollup('flows_1h_dst_ports', ['exporter', 'protocol', 'dst_port'], HOUR),
  rollup('flows_1d_dst_ports', ['exporter', 'protocol', 'dst_port'], DAY),
  rollup('flows_1h_src_hosts', ['exporter', 'src_ip'], HOUR),
  rollup('flows_1d_src_hosts', ['exporter', 'src_ip'], DAY),
  rollup('flows_1h_dst_hosts', ['exporter', 'dst_ip'], HOUR),
  rollup('flows_1d_dst_hosts', ['exporter', 'dst_ip'], DAY),
  rollup('flows_1m_hosts', ['exporter', 'protocol'], MINUTE, true),
];

/**
 * Every rollup the writer fills (its exactly-once markers cover each). The
 * query planner ranks them by cost itself (core-extension/query/clickhouse-sql.ts);
 * this order is the minute rollups first, smallest first, as pickTable reads it.
 * The minute rollups keep one side of a flow: pairs of addresses or of ports
 * are nearly unique per minute (a rollup of them is as big as the flows table).
 */
export const ROLLUPS: readonly RollupSpec[] = [...V2_ROLLUPS, ...V3_ROLLUPS];

/** The rollups migration 1 made (frozen: migrations never change once shipped). */
const V1_ROLLUPS: readonly RollupSpec[] = [
  INTERFACES,
  rollup('flows_1m_ports', ['exporter', 'protocol', 'src_port', 'dst_port']),
  rollup('flows_1m_talkers', ['exporter', 'protocol', 'src_ip', 'dst_ip']),
];

/** Every table a query may read, cheapest first. */
export const QUERY_TABLES: readonly TableSpec[] = [...ROLLUPS, RAW];

/** Where the writer inserts: a Null table whose materialized views fill flows and every rollup. */
export const INGEST_TABLE = 'flows_ingest';
export const MIGRATIONS_TABLE = 'schema_migrations';

/** Add to every query's WHERE clause: leaves out the writer's exactly-once marker rows. */
export const DATA_ONLY = 'ingest_seq = 0';

/**
 * The cheapest table holding every dimension in `needs` at a grain that
 * divides `bucketSeconds` (null: no time bucket, any grain). The query range
 * must also start and end on the table's grain (the planner's business).
 */
export function pickTable(needs: readonly Dimension[], bucketSeconds: number | null): TableSpec {
  return QUERY_TABLES.find((t) => needs.every((d) => t.dimensions.includes(d)) && (bucketSeconds === null || bucketSeconds % t.grainSeconds === 0)) ?? RAW;
}

// ---------------------------------------------------------------------------
// Safe SQL pieces for the planner: only validated identifiers and numbers
// or hex digits ever reach the SQL text.

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function assertIdentifier(name: string, what = 'identifier'): string {
  if (!IDENTIFIER.test(name)) throw new Error(`${what} "${name}" must be letters, digits and _ (not starting with a digit)`);
  return name;
}

/** `db.table`, both validated. */
export function tableRef(database: string, table: string): string {
  return `${assertIdentifier(database, 'database')}.${assertIdentifier(table, 'table')}`;
}

/** The IP columns; ipRange refuses any other column name. */
export const IP_COLUMNS: ReadonlySet<string> = new Set(['src_ip', 'dst_ip', 'exporter', 'next_hop']);

/** A 16-byte address (IPv4-mapped for IPv4) as a FixedString(16) literal. */
export function ipLiteral(bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 16) throw new Error('an IP literal needs exactly 16 bytes');
  return `toFixedString(unhex('${Buffer.from(bytes).toString('hex')}'), 16)`;
}

/** `column` within [lo, hi] (a CIDR block's first and last address, 16 bytes each); an exact address when lo = hi. */
export function ipRange(column: string, lo: Uint8Array, hi: Uint8Array): string {
  if (!IP_COLUMNS.has(column)) throw new Error(`${column} is not an IP column`);
  if (Buffer.compare(Buffer.from(lo), Buffer.from(hi)) === 0) return `${column} = ${ipLiteral(lo)}`;
  return `(${column} >= ${ipLiteral(lo)} AND ${column} <= ${ipLiteral(hi)})`;
}

/** SQL reading an IP column back as 32 hex digits (lower case), the same on every engine. */
export function ipHex(column: string): string {
  if (!IP_COLUMNS.has(column)) throw new Error(`${column} is not an IP column`);
  return `lower(hex(${column}))`;
}

/** A point in time as a DateTime literal, floored to the second (timestamps are stored to the second). */
export function timeLiteral(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new Error(`time ${ms} is not a valid epoch millisecond value`);
  return `toDateTime(${Math.floor(ms / 1000)}, 'UTC')`;
}

/**
 * The start of the `seconds`-wide bucket holding `column` (a DateTime), as a
 * DateTime aligned to the Unix epoch. One expression for every engine: 18.16
 * has no toStartOfInterval, and intDiv on the unix time is as fast.
 */
export function timeBucket(column: string, seconds: number): string {
  assertIdentifier(column, 'column');
  if (!Number.isInteger(seconds) || seconds <= 0) throw new Error(`bucket width ${seconds} must be a positive whole number of seconds`);
  return `toDateTime(intDiv(toUInt32(${column}), ${seconds}) * ${seconds}, 'UTC')`;
}

// ---------------------------------------------------------------------------
// DDL

export interface SchemaContext {
  database: string;
  caps: Capabilities;
  /** Rows older than this are removed by TTL where the engine has it (the retention job drops partitions everywhere). */
  retentionMs: number;
}

function columnType(c: { type: string; lowCardinality?: boolean }, caps: Capabilities): string {
  return c.lowCardinality && caps.lowCardinality ? `LowCardinality(${c.type})` : c.type;
}

function codec(c: FlowColumn, caps: Capabilities): string {
  if (!caps.codecs || c.lowCardinality) return '';
  return c.codec === 'T64' ? ' CODEC(T64, ZSTD(3))' : ' CODEC(ZSTD(3))';
}

function ttl(ctx: SchemaContext): string {
  return ctx.caps.ttl ? ` TTL ${ttlExpression(ctx.retentionMs)}` : '';
}

/** The TTL expression of every table (compared with system.tables to notice a changed window). */
export function ttlExpression(retentionMs: number): string {
  return `timestamp + INTERVAL ${Math.ceil(retentionMs / 1000)} SECOND`;
}

function tableSettings(ctx: SchemaContext): string {
  // Whole expired parts are dropped, never rewritten row by row.
  return ctx.caps.ttl ? ' SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1' : ' SETTINGS index_granularity = 8192';
}

const FLOW_COLUMN_BY_NAME = new Map(FLOW_COLUMNS.map((c) => [c.name, c]));

function flowColumnsDdl(ctx: SchemaContext, withCodecs: boolean): string[] {
  return FLOW_COLUMNS.map((c) => `${c.name} ${columnType(c, ctx.caps)}${withCodecs ? codec(c, ctx.caps) : ''}`);
}

/** The raw flows table. The sort key serves time-range scans first, then exporter and addresses. */
function createFlows(ctx: SchemaContext): string {
  const aliases = ALIAS_COLUMNS.map((a) => `${a.name} ${a.type} ALIAS ${a.expr}`);
  return `CREATE TABLE IF NOT EXISTS ${tableRef(ctx.database, RAW.name)} (${[...flowColumnsDdl(ctx, true), ...aliases].join(', ')})
ENGINE = MergeTree() PARTITION BY toDate(timestamp)
ORDER BY (toStartOfFifteenMinutes(timestamp), exporter, protocol, src_ip, dst_ip, timestamp)${ttl(ctx)}${tableSettings(ctx)}`;
}

function createNullTable(ctx: SchemaContext, name: string): string {
  return `CREATE TABLE IF NOT EXISTS ${tableRef(ctx.database, name)} (${flowColumnsDdl(ctx, false).join(', ')}) ENGINE = Null`;
}

/** A rollup's key columns after `timestamp`: its dimensions, the host column first on the host rollup. */
function rollupKeys(r: RollupSpec): string[] {
  return [...(r.eitherHost ? [HOST_COLUMN] : []), ...r.dimensions];
}

function createRollup(ctx: SchemaContext, r: RollupSpec): string {
  const ipType = columnType(FLOW_COLUMN_BY_NAME.get('src_ip')!, ctx.caps) + codec(FLOW_COLUMN_BY_NAME.get('src_ip')!, ctx.caps);
  const dims = rollupKeys(r).map((d) => {
    if (d === HOST_COLUMN) return `${HOST_COLUMN} ${ipType}`;
    const c = FLOW_COLUMN_BY_NAME.get(d)!;
    return `${d} ${columnType(c, ctx.caps)}${codec(c, ctx.caps)}`;
  });
  const t64 = ctx.caps.codecs ? ' CODEC(T64, ZSTD(3))' : '';
  const cols = [
    `timestamp DateTime('UTC')${t64}`, ...dims, `sampling_rate UInt32${t64}`, `ingest_seq UInt64${t64}`,
    `bytes UInt64${t64}`, `packets UInt64${t64}`, `flows UInt64${t64}`, `marks UInt64${t64}`,
  ];
  // The host rollup is read one address at a time: sorted by it, a lookup reads a few granules.
  const order = r.eitherHost ? [HOST_COLUMN, 'timestamp', ...r.dimensions] : ['timestamp', ...r.dimensions];
  // marks (1 on a marker row) keeps marker rows alive: SummingMergeTree drops
  // rows whose summed columns are all zero.
  return `CREATE TABLE IF NOT EXISTS ${tableRef(ctx.database, r.name)} (${cols.join(', ')})
ENGINE = SummingMergeTree((bytes, packets, flows, marks)) PARTITION BY toDate(timestamp)
ORDER BY (${[...order, 'sampling_rate', 'ingest_seq'].join(', ')})${ttl(ctx)}${tableSettings(ctx)}`;
}

/** The aggregation of one rollup over a source table of flow columns (used by both of its views). */
export function rollupSelect(database: string, r: RollupSpec, source: string, where?: string): string {
  const keys = ['timestamp', ...rollupKeys(r), 'sampling_rate', 'ingest_seq'].join(', ');
  const bucket = r.grainSeconds === MINUTE ? 'toStartOfMinute(timestamp)' : timeBucket('timestamp', r.grainSeconds);
  // Each distinct address of a flow once: a flow from an address to itself is one row, not two.
  const host = r.eitherHost ? `arrayJoin(if(src_ip = dst_ip, [src_ip], [src_ip, dst_ip])) AS ${HOST_COLUMN}, ` : '';
  return `SELECT ${bucket} AS timestamp, ${host}${r.dimensions.join(', ')}, sampling_rate, ingest_seq,
sum(bytes) AS bytes, sum(packets) AS packets, countIf(ingest_seq = 0) AS flows, countIf(ingest_seq != 0) AS marks
FROM ${tableRef(database, source)}${where ? ` WHERE ${where}` : ''} GROUP BY ${keys}`;
}

function createView(ctx: SchemaContext, name: string, target: string, select: string): string {
  return `CREATE MATERIALIZED VIEW IF NOT EXISTS ${tableRef(ctx.database, name)} TO ${tableRef(ctx.database, target)} AS ${select}`;
}

export interface Migration {
  version: number;
  description: string;
  statements(ctx: SchemaContext): string[];
}

/**
 * Applied in order at writer start, each once (recorded in schema_migrations).
 * Every statement is idempotent, so a migration interrupted half way, or run by
 * two writers starting together, completes on the next start.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'flows table, minute rollups, the ingest and feed tables and their materialized views',
    statements: (ctx) => [
      `CREATE DATABASE IF NOT EXISTS ${assertIdentifier(ctx.database, 'database')}`,
      createFlows(ctx),
      ...V1_ROLLUPS.map((r) => createRollup(ctx, r)),
      createNullTable(ctx, INGEST_TABLE),
      ...V1_ROLLUPS.map((r) => createNullTable(ctx, r.feed)),
      // Views last: once the ingest table has them, an insert reaches every table.
      createView(ctx, `${RAW.name}_mv`, RAW.name, `SELECT * FROM ${tableRef(ctx.database, INGEST_TABLE)}`),
      ...V1_ROLLUPS.flatMap((r) => rollupViews(ctx, r)),
    ],
  },
  {
    version: 2,
    description: 'one-sided host and port rollups replace the address-pair and port-pair ones (as big as the flows table)',
    statements: (ctx) => {
      const gone = V1_ROLLUPS.filter((r) => !V2_ROLLUPS.some((n) => n.name === r.name));
      const added = V2_ROLLUPS.filter((r) => !V1_ROLLUPS.some((o) => o.name === r.name));
      return [
        ...gone.flatMap((r) => [`${r.name}_mv`, `${r.feed}_mv`, r.feed, r.name].map((t) => `DROP TABLE IF EXISTS ${tableRef(ctx.database, t)}`)),
        ...added.flatMap((r) => addRollup(ctx, r)),
      ];
    },
  },
  {
    version: 3,
    description: 'hourly and daily host and port rollups, minute links, the either-side host rollup',
    statements: (ctx) => V3_ROLLUPS.flatMap((r) => addRollup(ctx, r)),
  },
];

/**
 * A rollup added to a database that may hold flows: the table, its feed, a
 * fill from the flows already stored (markers included) before its views
 * exist, and only while it is empty, so a rerun adds nothing; then its views.
 * Run the first writer of a new version alone: rows another one inserts
 * between the fill and the views would be missed.
 */
function addRollup(ctx: SchemaContext, r: RollupSpec): string[] {
  return [
    createRollup(ctx, r),
    createNullTable(ctx, r.feed),
    `INSERT INTO ${tableRef(ctx.database, r.name)} ${rollupSelect(ctx.database, r, RAW.name, `(SELECT count() FROM ${tableRef(ctx.database, r.name)}) = 0`)}`,
    ...rollupViews(ctx, r),
  ];
}

/** A rollup's two views: from the ingest table (every insert) and from its own feed (repairs). */
function rollupViews(ctx: SchemaContext, r: RollupSpec): string[] {
  return [
    createView(ctx, `${r.name}_mv`, r.name, rollupSelect(ctx.database, r, INGEST_TABLE)),
    createView(ctx, `${r.feed}_mv`, r.name, rollupSelect(ctx.database, r, r.feed)),
  ];
}

export function createMigrationsTable(database: string): string[] {
  return [
    `CREATE DATABASE IF NOT EXISTS ${assertIdentifier(database, 'database')}`,
    `CREATE TABLE IF NOT EXISTS ${tableRef(database, MIGRATIONS_TABLE)} (version UInt32, description String, applied_at DateTime('UTC'))
ENGINE = MergeTree() ORDER BY version`,
  ];
}

/** Tables holding flow data (the retention job's and TTL's scope). */
export const DATA_TABLES: readonly string[] = [RAW.name, ...ROLLUPS.map((r) => r.name)];
