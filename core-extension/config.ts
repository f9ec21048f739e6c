// /etc/serviceradar/core.json as the core-extension reads it: the PRD's
// `netflow` block (where the two tiers are and the realtime threshold), the
// HTTP and gRPC listeners, the users and API tokens (hashed, never plain), and
// the ServiceRadar security block.
import { loadConfig, type Schema } from '../common/config.js';
import { securitySchema, type SecurityConfig } from '../common/security.js';

export const DEFAULT_CONFIG_PATH = '/etc/serviceradar/core.json';

export interface UserEntry { username: string; password_hash: string }
export interface TokenEntry { name: string; token_hash: string }

export interface CoreConfig {
  netflow: {
    /** ClickHouse server over HTTP(S); empty = embedded chDB in clickhouse_data_dir. */
    clickhouse_url: string;
    clickhouse_user: string;
    clickhouse_password: string;
    clickhouse_database: string;
    clickhouse_data_dir: string;
    /** PEM files for HTTPS to the server; empty = none. */
    clickhouse_tls: { ca_file: string; cert_file: string; key_file: string };
    /** Iceberg REST catalog URL; empty = the filesystem catalog at iceberg_path. */
    iceberg_catalog: string;
    iceberg_table: string;
    iceberg_path: string;
    iceberg_token: string;
    iceberg_warehouse: string;
    /** DuckDB's memory limit for cold-tier queries ("2GB"; it spills beyond) and threads (0 = one per core). */
    duckdb_memory_limit: string;
    duckdb_threads: number;
    /** Ranges that start within this long before now are answered by ClickHouse (ms). */
    realtime_threshold: number;
    /** NATS, for the writers' lag in the status; empty = not reported. */
    nats_url: string;
    /** The longest one query may run (ms). */
    query_timeout: number;
    /** Queries run at once; more wait their turn (each still bounded by query_timeout). */
    max_concurrent_queries: number;
    /** A writer with messages waiting and none acknowledged for this long is stalled (ms). */
    stall_after: number;
  };
  http: {
    listen_addr: string;
    /** The web UI's static export; empty = the one shipped beside the code. */
    ui_dir: string;
    /** Lifetime of a login session (ms). */
    session_ttl: number;
    /** Send the session cookie with Secure (set when TLS terminates in front). */
    secure_cookies: boolean;
  };
  grpc: { listen_addr: string; service_name: string };
  users: UserEntry[];
  api_tokens: TokenEntry[];
  security: SecurityConfig;
}

function entries<T>(fields: (keyof T & string)[], pattern: Partial<Record<keyof T & string, RegExp>>) {
  return (value: unknown) => {
    if (!Array.isArray(value)) throw new Error('must be an array');
    value.forEach((e, i) => {
      if (typeof e !== 'object' || e === null) throw new Error(`[${i}] must be an object`);
      const extra = Object.keys(e).filter((k) => !fields.includes(k as keyof T & string));
      if (extra.length) throw new Error(`[${i}]: unknown key ${extra.join(', ')}`);
      for (const f of fields) {
        const v = (e as Record<string, unknown>)[f];
        if (typeof v !== 'string' || v === '') throw new Error(`[${i}].${f} must be a non-empty string`);
        if (pattern[f] && !pattern[f]!.test(v)) throw new Error(`[${i}].${f} is not in the expected form (make it with: serviceradar-netflow core hash)`);
      }
    });
  };
}

export const SCRYPT_HASH = /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/;
export const TOKEN_HASH = /^sha256\$[0-9a-f]{64}$/;

export const coreSchema: Schema<CoreConfig> = {
  netflow: {
    clickhouse_url: { doc: 'ClickHouse HTTP(S) URL (http://host:8123); empty = embedded chDB', format: 'clickhouse-url', default: '' },
    clickhouse_user: { doc: 'ClickHouse user', format: String, default: 'default' },
    clickhouse_password: { doc: 'ClickHouse password', format: String, default: '', sensitive: true },
    clickhouse_database: { doc: 'database the writer created the tables in', format: String, default: 'netflow' },
    clickhouse_data_dir: { doc: 'embedded chDB data folder (shared with the writer in one process)', format: String, default: '/var/lib/serviceradar/netflow/chdb' },
    clickhouse_tls: {
      ca_file: { doc: 'CA bundle for the ClickHouse server (PEM)', format: String, default: '' },
      cert_file: { doc: 'client certificate for ClickHouse mTLS (PEM)', format: String, default: '' },
      key_file: { doc: 'client key for ClickHouse mTLS (PEM)', format: String, default: '' },
    },
    iceberg_catalog: { doc: 'Iceberg REST catalog URL; empty = filesystem catalog at iceberg_path', format: 'url', default: '' },
    iceberg_table: { doc: 'namespace.table', format: String, default: 'default.netflow' },
    iceberg_path: { doc: 'the table folder (the parquet writer\'s output_path) for the filesystem catalog', format: String, default: '/var/lib/serviceradar/netflow/iceberg' },
    iceberg_token: { doc: 'bearer token for the REST catalog', format: String, default: '', sensitive: true },
    iceberg_warehouse: { doc: 'warehouse name for the REST catalog', format: String, default: '' },
    duckdb_memory_limit: { doc: 'memory DuckDB may use for historical queries ("2GB")', format: (v: unknown) => { if (typeof v !== 'string' || !/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.test(v)) throw new Error('must be a size like 512MB or 2GB'); }, default: '2GB' },
    duckdb_threads: { doc: 'DuckDB threads (0 = one per core)', format: 'nat', default: 0 },
    realtime_threshold: { doc: 'ranges starting within this of now go to ClickHouse, which is trusted to hold every flow this recent: keep it within the hot tier\'s retention ("2d")', format: 'duration-ms', default: 2 * 86_400_000 },
    nats_url: { doc: 'NATS URL for the writers\' lag; empty = not reported', format: String, default: 'nats://localhost:4222' },
    query_timeout: { doc: 'time limit of one query ("30s")', format: 'duration-ms', default: 30_000 },
    max_concurrent_queries: { doc: 'queries run at once', format: 'positive-int', default: 8 },
    stall_after: { doc: 'a writer with messages waiting and none acknowledged for this long is stalled; keep it above the parquet-writer batch_interval ("15m")', format: 'duration-ms', default: 15 * 60_000 },
  },
  http: {
    listen_addr: { doc: 'HTTP API and UI address', format: 'host-port', default: ':8090' },
    ui_dir: { doc: 'the web UI static export folder; empty = the one shipped with this package (core-extension/ui/out)', format: String, default: '' },
    session_ttl: { doc: 'login session lifetime ("12h")', format: 'duration-ms', default: 12 * 3_600_000 },
    secure_cookies: { doc: 'mark the session cookie Secure', format: Boolean, default: false },
  },
  grpc: {
    listen_addr: { doc: 'gRPC address for pollers', format: 'host-port', default: ':50052' },
    service_name: { doc: 'service name the poller check uses', format: String, default: 'netflow_metrics' },
  },
  users: {
    doc: 'UI users: [{"username", "password_hash"}] (serviceradar-netflow core hash)',
    format: entries<UserEntry>(['username', 'password_hash'], { password_hash: SCRYPT_HASH }),
    default: [],
    // A plain password put here by mistake must not be echoed in the error.
    sensitive: true,
  },
  api_tokens: {
    doc: 'machine tokens: [{"name", "token_hash"}] (serviceradar-netflow core hash --token)',
    format: entries<TokenEntry>(['name', 'token_hash'], { token_hash: TOKEN_HASH }),
    default: [],
    sensitive: true,
  },
  security: securitySchema({ role: 'core', cert_file: 'core.pem', key_file: 'core-key.pem' }),
};

export function loadCoreConfig(path: string | undefined, overrides?: Partial<CoreConfig>): CoreConfig {
  return loadConfig(coreSchema, path, { required: path !== undefined && path !== DEFAULT_CONFIG_PATH, overrides });
}
