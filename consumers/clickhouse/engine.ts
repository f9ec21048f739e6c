// One handle on ClickHouse, whichever engine runs it: a ClickHouse server over
// HTTP(S) through @clickhouse/client, or chDB embedded in this process. The
// writer, the retention job and the core-extension's query planner all talk
// through this interface, so the same SQL runs on both; what differs between
// ClickHouse versions is a small set of named capabilities, detected once from
// the version.
//
// chDB binds one data directory per process. Every openEngine() on the same
// directory returns a handle on one shared session (reference counted), so the
// writer and the core-extension can run in one process; the session closes
// when the last handle does.
import { mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';

/** What the running ClickHouse version can do; everything else is common to 18.16 and today's releases. */
export interface Capabilities {
  /** Table TTL clauses and the ttl_only_drop_parts setting. */
  ttl: boolean;
  /** The IPv4 / IPv6 data types (the schema still stores FixedString(16) on every engine, see schema.ts). */
  ipv6Type: boolean;
  /** LowCardinality(T) without an experimental flag. */
  lowCardinality: boolean;
  /** Per-column compression codecs: CODEC(Delta, ZSTD(n)). */
  codecs: boolean;
  /** toStartOfInterval(t, INTERVAL n unit). Without it, bucket with intDiv on the unix time (schema.timeBucket does). */
  toStartOfInterval: boolean;
  /** Server-side query parameters {name:Type}. Not needed by our SQL (literals are rendered safely), reported for completeness. */
  queryParameters: boolean;
  /** The optimize_on_insert setting (20.12): off, a SummingMergeTree insert skips merging a block its view already grouped. */
  optimizeOnInsert: boolean;
}

/**
 * A batch ready to insert: a TabSeparated payload in the column order of
 * `columns` (see rows.ts), built once and sent as is by either engine.
 */
export interface PreparedInsert {
  format: 'TabSeparated';
  columns: readonly string[];
  data: Buffer;
}

/** Rows as JSON objects keyed by column name (small inserts: migrations, tests). */
export type JsonRows = readonly Record<string, unknown>[];

export interface SelectResult<T> {
  rows: T[];
  /** Rows the engine read to answer (after index pruning). */
  rowsRead: number;
  elapsedMs: number;
}

export interface QueryOptions {
  /** Aborts the query (chDB: the promise settles at once, the engine finishes in the background). */
  signal?: AbortSignal;
}

export interface ClickHouseEngine {
  readonly kind: 'chdb' | 'server';
  /** As the engine reports it: "18.16.1", "26.7.2.1". */
  readonly version: string;
  readonly capabilities: Capabilities;
  /**
   * Runs a SELECT and returns its rows as JSON objects. Do not add a FORMAT
   * clause. 64-bit integers (UInt64 sums, counts) arrive as strings on every
   * engine, so nothing above 2^53 loses precision silently: Number() them.
   * DateTime columns arrive as "YYYY-MM-DD hh:mm:ss" in the column's time zone (UTC for ours).
   */
  query<T = Record<string, unknown>>(sql: string, opts?: QueryOptions): Promise<T[]>;
  /** query() plus what the engine read. */
  select<T = Record<string, unknown>>(sql: string, opts?: QueryOptions): Promise<SelectResult<T>>;
  /** Runs a statement without a result (DDL, ALTER, INSERT ... SELECT). */
  exec(sql: string, opts?: QueryOptions): Promise<void>;
  /**
   * Inserts into `table` (database-qualified). With `settings`, per-insert
   * settings (names and values are ours, never user input).
   */
  insert(table: string, rows: PreparedInsert | JsonRows, settings?: Record<string, string | number>): Promise<void>;
  /** Releases this handle (for chDB, the session closes with the last handle). Idempotent. */
  close(): Promise<void>;
}

export interface EngineConfig {
  /** http(s)://host:8123 of a ClickHouse server; empty = embedded chDB in clickhouse_data_dir. */
  clickhouse_url: string;
  clickhouse_user?: string;
  clickhouse_password?: string;
  /** PEM files for HTTPS: a CA to trust, and a client certificate and key for mutual TLS. Empty = none. */
  clickhouse_tls?: { ca_file: string; cert_file: string; key_file: string };
  clickhouse_data_dir?: string;
  /** Longest one request to a server may take (ms). */
  request_timeout_ms?: number;
}

/** Capabilities of a version string, by the release that introduced each feature (conservative). */
export function capabilitiesOf(version: string): Capabilities {
  const [major = 0, minor = 0] = version.split('.').map((p) => Number.parseInt(p, 10));
  const atLeast = (ma: number, mi: number) => major > ma || (major === ma && minor >= mi);
  return {
    ttl: atLeast(20, 3),
    ipv6Type: atLeast(19, 3),
    lowCardinality: atLeast(19, 3),
    codecs: atLeast(19, 3),
    toStartOfInterval: atLeast(19, 3),
    queryParameters: atLeast(19, 11),
    optimizeOnInsert: atLeast(20, 12),
  };
}

// Every engine answers JSON the same way: 64-bit integers quoted (the default
// of old servers; modern ones and chDB have to be told).
const OUTPUT_SETTINGS = { output_format_json_quote_64bit_integers: 1 } as const;

interface JsonResponse<T> { data: T[]; statistics?: { rows_read?: number; elapsed?: number } }

export async function openEngine(cfg: EngineConfig): Promise<ClickHouseEngine> {
  if (cfg.clickhouse_url) return openServer(cfg);
  return openChdb(cfg.clickhouse_data_dir ?? '');
}

// ---------------------------------------------------------------------------
// ClickHouse server over HTTP(S)

async function openServer(cfg: EngineConfig): Promise<ClickHouseEngine> {
  const tls = serverTls(cfg.clickhouse_tls);
  const client = createClient({
    url: cfg.clickhouse_url,
    username: cfg.clickhouse_user || 'default',
    password: cfg.clickhouse_password ?? '',
    request_timeout: cfg.request_timeout_ms ?? 300_000,
    // Nothing compressed and no session: @clickhouse/client then sends no
    // setting of its own, and 18.16 accepts every request it makes.
    compression: { request: false, response: false },
    application: 'serviceradar-netflow',
    ...(tls ? { tls } : {}),
    // Our logs carry the reason; the client's own logger would print the request.
    log: { level: ClickHouseLogLevel.OFF },
  });
  let version: string;
  try {
    const rs = await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' });
    version = ((await rs.json()) as { v: string }[])[0]!.v;
  } catch (err) {
    await client.close();
    throw new Error(`ClickHouse at ${redactUrl(cfg.clickhouse_url)}: ${conciseError(err)}`);
  }
  let closed = false;
  const select = async <T>(sql: string, opts?: QueryOptions): Promise<SelectResult<T>> => {
    const started = Date.now();
    const rs = await client.query({ query: sql, format: 'JSON', clickhouse_settings: OUTPUT_SETTINGS, ...(opts?.signal ? { abort_signal: opts.signal } : {}) });
    const body = (await rs.json()) as unknown as JsonResponse<T>;
    return { rows: body.data, rowsRead: body.statistics?.rows_read ?? 0, elapsedMs: Date.now() - started };
  };
  return {
    kind: 'server',
    version,
    capabilities: capabilitiesOf(version),
    select,
    query: async (sql, opts) => (await select(sql, opts)).rows as never,
    async exec(sql, opts) {
      await client.command({ query: sql, ...(opts?.signal ? { abort_signal: opts.signal } : {}) });
    },
    async insert(table, rows, settings) {
      if (isPrepared(rows)) {
        await client.insert({
          table, columns: rows.columns as [string, ...string[]], format: 'TabSeparated',
          values: Readable.from([rows.data], { objectMode: false }),
          ...(settings ? { clickhouse_settings: settings } : {}),
        });
      } else {
        if (!rows.length) return;
        await client.insert({ table, values: rows as Record<string, unknown>[], format: 'JSONEachRow', ...(settings ? { clickhouse_settings: settings } : {}) });
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await client.close();
    },
  };
}

function serverTls(tls: EngineConfig['clickhouse_tls']): { ca_cert: Buffer; cert?: Buffer; key?: Buffer } | undefined {
  if (!tls || (!tls.ca_file && !tls.cert_file && !tls.key_file)) return undefined;
  const read = (key: string, path: string) => {
    try { return readFileSync(path); } catch (err) {
      throw new Error(`clickhouse_tls.${key}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  if (!tls.ca_file) throw new Error('clickhouse_tls.ca_file: required when a client certificate is given');
  if (Boolean(tls.cert_file) !== Boolean(tls.key_file)) throw new Error('clickhouse_tls: cert_file and key_file go together');
  return {
    ca_cert: read('ca_file', tls.ca_file),
    ...(tls.cert_file ? { cert: read('cert_file', tls.cert_file), key: read('key_file', tls.key_file) } : {}),
  };
}

// ---------------------------------------------------------------------------
// chDB, embedded

type ChdbSession = import('chdb').Session;

interface SharedSession { session: ChdbSession; version: string; refs: number }

/** One session per data directory in this process (chDB binds one directory per process). */
const sessions = new Map<string, SharedSession>();
let openingChdb: Promise<unknown> = Promise.resolve();

async function openChdb(dataDir: string): Promise<ClickHouseEngine> {
  if (!dataDir) throw new Error('clickhouse_data_dir: required for embedded chDB (clickhouse_url is empty)');
  // Serialized, so two services starting at once share one session.
  const opened = openingChdb.then(() => acquireSession(dataDir));
  openingChdb = opened.catch(() => undefined);
  const { key, shared } = await opened;
  let closed = false;
  const { session } = shared;
  const select = async <T>(sql: string, opts?: QueryOptions): Promise<SelectResult<T>> => {
    const res = await session.queryAsync(sql, { format: 'JSON', ...(opts?.signal ? { signal: opts.signal } : {}) });
    const text = res.text();
    const body = (text ? JSON.parse(text) : { data: [] }) as JsonResponse<T>;
    return { rows: body.data, rowsRead: body.statistics?.rows_read ?? res.rowsRead, elapsedMs: Math.round(res.elapsed * 1000) };
  };
  return {
    kind: 'chdb',
    version: shared.version,
    capabilities: capabilitiesOf(shared.version),
    select,
    query: async (sql, opts) => (await select(sql, opts)).rows as never,
    async exec(sql, opts) {
      await session.queryAsync(sql, opts?.signal ? { signal: opts.signal } : {});
    },
    async insert(table, rows, settings) {
      if (isPrepared(rows)) {
        await session.insert({ table, columns: rows.columns, values: rows.data, format: 'TSV', ...(settings ? { settings } : {}) });
      } else {
        if (!rows.length) return;
        const data = Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
        await session.insert({ table, values: data, format: 'JSONEachRow', ...(settings ? { settings } : {}) });
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      releaseSession(key);
    },
  };
}

async function acquireSession(dataDir: string): Promise<{ key: string; shared: SharedSession }> {
  mkdirSync(dataDir, { recursive: true });
  const key = realpathSync(resolve(dataDir));
  const existing = sessions.get(key);
  if (existing) {
    existing.refs++;
    return { key, shared: existing };
  }
  const other = [...sessions.keys()][0];
  if (other) throw new Error(`clickhouse_data_dir: chDB already has ${other} open in this process and binds one data directory per process; use the same folder for every service here`);
  const { Session } = await import('chdb');
  const session = new Session(key, { connectionArgs: Object.entries(OUTPUT_SETTINGS).map(([k, v]) => `--${k}=${v}`) });
  try {
    const res = await session.queryAsync('SELECT version() AS v', { format: 'JSONEachRow' });
    const version = (JSON.parse(res.text().trim()) as { v: string }).v;
    const shared = { session, version, refs: 1 };
    sessions.set(key, shared);
    return { key, shared };
  } catch (err) {
    session.close();
    throw new Error(`chDB in ${key}: ${conciseError(err)}`);
  }
}

function releaseSession(key: string): void {
  const shared = sessions.get(key);
  if (!shared || --shared.refs > 0) return;
  sessions.delete(key);
  shared.session.close();
}

// ---------------------------------------------------------------------------

function isPrepared(rows: PreparedInsert | JsonRows): rows is PreparedInsert {
  return !Array.isArray(rows) && (rows as PreparedInsert).format === 'TabSeparated';
}

/** The URL without credentials, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = ''; u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch { return '(invalid URL)'; }
}

/** The first line of an engine error: ClickHouse messages carry stack traces and row dumps. */
export function conciseError(err: unknown): string {
  const msg = (err as Error)?.message ?? String(err);
  return msg.split('\n')[0]!.replace(/, e\.what\(\) = DB::Exception.*$/, '').slice(0, 500);
}
