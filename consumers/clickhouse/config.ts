// /etc/serviceradar/netflow-clickhouse.json: the PRD's keys (nats_url,
// clickhouse_url, batch_size, security) plus the engine, credentials, TLS,
// retention and stream settings. Every key is validated and an invalid one is
// named; the password is marked sensitive and never logged.
import { bounded, ConfigError, loadConfig, type Schema } from '../../common/config.js';
import { securitySchema, type SecurityConfig } from '../../common/security.js';
import { streamSchema, type StreamLimits } from '../../common/stream.js';
import { redactUrl } from './engine.js';

export const DEFAULT_CONFIG_PATH = '/etc/serviceradar/netflow-clickhouse.json';

export interface ClickHouseWriterConfig {
  nats_url: string;
  security: SecurityConfig;
  /** http(s)://host:8123 of a ClickHouse server; empty = embedded chDB in clickhouse_data_dir. */
  clickhouse_url: string;
  clickhouse_user: string;
  clickhouse_password: string;
  clickhouse_database: string;
  clickhouse_tls: { ca_file: string; cert_file: string; key_file: string };
  clickhouse_data_dir: string;
  /** Longest one request to a ClickHouse server may take (ms). */
  request_timeout: number;
  batch_size: number;
  /** Longest a record waits for its batch to fill (ms). */
  batch_wait: number;
  /** How long flows stay (ms). */
  retention: number;
  /** How often expired partitions are dropped (ms). */
  retention_interval: number;
  /** JetStream redelivers a message not acked this long after delivery (ms). */
  ack_wait: number;
  max_ack_pending: number;
  metrics_listen_addr: string;
  stream: StreamLimits;
}

function identifier(value: unknown): void {
  if (typeof value !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(value)) throw new Error('must be letters, digits and _ (not starting with a digit)');
}

export const writerSchema: Schema<ClickHouseWriterConfig> = {
  nats_url: { doc: 'NATS server(s), comma separated', format: 'nats-url', default: 'nats://localhost:4222' },
  security: securitySchema({ role: 'clickhouse-writer', cert_file: 'netflow-clickhouse.pem', key_file: 'netflow-clickhouse-key.pem' }),
  // sensitive: a URL with credentials in it must not be echoed back in the error.
  clickhouse_url: { doc: 'ClickHouse HTTP(S) URL (http://host:8123); empty = embedded chDB in clickhouse_data_dir', format: 'clickhouse-url', default: '', sensitive: true },
  clickhouse_user: { doc: 'ClickHouse user', format: String, default: 'default' },
  clickhouse_password: { doc: 'ClickHouse password', format: String, default: '', sensitive: true },
  clickhouse_database: { doc: 'database of the flows tables (created if missing)', format: identifier, default: 'netflow' },
  clickhouse_tls: {
    ca_file: { doc: 'PEM CA bundle trusted for https:// (empty = the system CAs)', format: String, default: '' },
    cert_file: { doc: 'PEM client certificate for mutual TLS (empty = none)', format: String, default: '' },
    key_file: { doc: 'PEM key of cert_file', format: String, default: '' },
  },
  clickhouse_data_dir: { doc: 'embedded chDB data folder (shared with the core-extension in one process)', format: String, default: '/var/lib/serviceradar/netflow/chdb' },
  request_timeout: { doc: 'time limit of one request to a ClickHouse server ("5m")', format: 'duration-ms', default: 5 * 60_000 },
  // Not the PRD's 10000: each INSERT writes a part into every table (flows and each rollup), and at
  // 10000 rows those parts and their merges cost three times the CPU per row of 100000 (bench/clickhouse.ts).
  // batch_wait still bounds how long a record waits when traffic is light.
  batch_size: { doc: 'flow records per INSERT', format: bounded(1, 1_000_000), default: 100_000 },
  batch_wait: { doc: 'longest a record waits for its batch to fill ("2s")', format: 'duration-ms', default: 2000 },
  retention: { doc: 'how long flows stay in ClickHouse ("2d")', format: 'duration-ms', default: 2 * 86_400_000 },
  retention_interval: { doc: 'how often expired day partitions are dropped ("1h")', format: 'duration-ms', default: 3_600_000 },
  ack_wait: { doc: 'redelivery delay of an unacknowledged message ("60s")', format: 'duration-ms', default: 60_000 },
  max_ack_pending: { doc: 'stream messages held unacknowledged at once', format: bounded(1, 1_000_000), default: 20_000 },
  metrics_listen_addr: { doc: 'Prometheus /metrics address; "" disables it', format: 'host-port-or-empty', default: ':9185' },
  stream: streamSchema,
};

/** Rules convict cannot express across keys; each names its key. */
function relationError(c: ClickHouseWriterConfig): string | undefined {
  if (c.batch_wait < 10) return 'batch_wait: must be at least 10ms';
  if (c.ack_wait < 3 * c.batch_wait || c.ack_wait < 3000) return `ack_wait: must be at least 3s and three times batch_wait (${c.batch_wait} ms)`;
  if (c.retention < 3_600_000) return 'retention: must be at least 1h';
  if (c.retention_interval < 1000) return 'retention_interval: must be at least 1s';
  if (!c.clickhouse_url && !c.clickhouse_data_dir) return 'clickhouse_data_dir: required when clickhouse_url is empty (embedded chDB)';
  const tls = c.clickhouse_tls;
  if ((tls.ca_file || tls.cert_file || tls.key_file) && !c.clickhouse_url.startsWith('https:')) return 'clickhouse_tls: only applies to an https:// clickhouse_url';
  if (Boolean(tls.cert_file) !== Boolean(tls.key_file)) return 'clickhouse_tls: cert_file and key_file go together';
  return undefined;
}

/** `required`: a path the user named must exist; the default path may be absent (defaults apply). */
export function loadWriterConfig(path: string | undefined, opts: { required?: boolean; overrides?: Partial<ClickHouseWriterConfig> } = {}): ClickHouseWriterConfig {
  const config = loadConfig(writerSchema, path, opts);
  const problem = relationError(config);
  if (problem) throw new ConfigError(`config ${path ?? 'defaults'}: ${problem}`);
  return config;
}

/** What the writer logs about its configuration at start: everything but secrets. */
export function describeConfig(c: ClickHouseWriterConfig): Record<string, unknown> {
  return {
    engine: c.clickhouse_url ? 'server' : 'chdb',
    clickhouse: c.clickhouse_url ? redactUrl(c.clickhouse_url) : c.clickhouse_data_dir,
    user: c.clickhouse_url ? c.clickhouse_user : undefined,
    password: c.clickhouse_password ? '(set)' : '(empty)',
    database: c.clickhouse_database,
    batch_size: c.batch_size,
    batch_wait_ms: c.batch_wait,
    retention_ms: c.retention,
    nats_url: c.nats_url,
  };
}
