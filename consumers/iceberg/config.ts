// The parquet-writer's configuration: /etc/serviceradar/netflow-parquet.json in
// the PRD's shape (nats_url, output_path, iceberg_catalog, iceberg_table,
// batch_size, batch_interval, security) plus retention, compaction and the
// Parquet knobs. Every key is validated; an invalid one stops start-up with
// its name.
//
// Batching defaults (why not the PRD's 10k records): each batch becomes one
// Iceberg snapshot, and every snapshot adds a manifest, a manifest list and a
// metadata version. At 100,000 flows/s, 10k-record commits would be 10 a
// second, 864,000 snapshots a day, each commit rewriting an ever larger
// metadata file. 200,000 records or 5 minutes gives a commit every 2 s at
// 100k flows/s and every 5 minutes at 1k flows/s (288 a day); a batch of 200k
// records is about 100 MB of decoded records in memory. Snapshots are kept 7
// days for time travel (see snapshot_retention), those superseded over an
// hour ago only as the last of their hour (snapshot_thin_after: 43,200 commits
// a day would otherwise all stay in the metadata), and an append that
// inherits 100 manifests folds the small ones into one.
import { bounded, ConfigError, loadConfig, type Schema } from '../../common/config.js';
import { securitySchema, type SecurityConfig } from '../../common/security.js';
import { streamSchema, type StreamLimits } from '../../common/stream.js';

export const DEFAULT_CONFIG_PATH = '/etc/serviceradar/netflow-parquet.json';

export interface ParquetWriterConfig {
  nats_url: string;
  output_path: string;
  iceberg_catalog: string;
  iceberg_table: string;
  iceberg_warehouse: string;
  iceberg_token: string;
  batch_size: number;
  batch_interval: number;
  ack_wait: number;
  max_ack_pending: number;
  retention_days: number;
  snapshot_retention: number;
  snapshot_thin_after: number;
  orphan_grace: number;
  retention_interval: number;
  compaction_interval: number;
  compaction_min_files: number;
  compaction_target_file_bytes: number;
  compaction_settle: number;
  parquet: { compression_level: number; row_group_rows: number; threads: number; memory_limit: string };
  metrics_listen_addr: string;
  security: SecurityConfig;
  stream: StreamLimits;
}

function catalogUrl(value: unknown): void {
  if (value === '') return;
  let u: URL;
  try { u = new URL(String(value)); } catch { throw new Error('must be an http(s) URL of an Iceberg REST catalog, or "" for the filesystem catalog'); }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('must be an http(s) URL of an Iceberg REST catalog, or "" for the filesystem catalog');
}

function tableName(value: unknown): void {
  if (typeof value !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(value)) throw new Error('must be namespace.table, e.g. "default.netflow"');
}

function memoryLimit(value: unknown): void {
  if (typeof value !== 'string' || !/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.test(value)) throw new Error('must be a size like "512MB" or "2GB"');
}

export const parquetWriterSchema: Schema<ParquetWriterConfig> = {
  nats_url: { doc: 'NATS server(s), comma separated', format: 'nats-url', default: 'nats://localhost:4222' },
  output_path: { doc: 'the table folder (filesystem catalog), or the location a REST catalog creates the table at ("" = its default)', format: String, default: '/var/lib/serviceradar/netflow/iceberg' },
  iceberg_catalog: { doc: 'Iceberg REST catalog URL ("http://localhost:8080"); "" = the filesystem catalog in output_path', format: catalogUrl, default: '' },
  iceberg_table: { doc: 'namespace.table', format: tableName, default: 'default.netflow' },
  iceberg_warehouse: { doc: 'warehouse name sent to the REST catalog ("" = none)', format: String, default: '' },
  iceberg_token: { doc: 'bearer token for the REST catalog ("" = none); never logged', format: String, default: '', sensitive: true },
  batch_size: { doc: 'records per commit (one Iceberg snapshot)', format: bounded(1, 2_000_000), default: 200_000 },
  batch_interval: { doc: 'longest a record waits for its commit ("5m")', format: 'duration-ms', default: 300_000 },
  ack_wait: { doc: 'JetStream ack wait: how long the batch of a crashed instance waits before redelivery (held messages are kept alive meanwhile)', format: 'duration-ms', default: 60_000 },
  max_ack_pending: { doc: 'messages delivered and not yet acknowledged, across all instances', format: 'positive-int', default: 20_000 },
  retention_days: { doc: 'days of flows kept; older days are removed whole', format: bounded(1, 36_500), default: 90 },
  snapshot_retention: { doc: 'how long snapshots are kept for time travel ("7d")', format: 'duration-ms', default: 7 * 86_400_000 },
  snapshot_thin_after: { doc: 'snapshots superseded longer ago than this are kept only as the last of their UTC hour (bounds the metadata at high commit rates): older snapshot ids stop working for as_of unless they closed an hour, and time travel goes to the hour', format: 'duration-ms', default: 3_600_000 },
  orphan_grace: { doc: 'unreferenced files younger than this are left alone (a commit may be in flight)', format: 'duration-ms', default: 3_600_000 },
  retention_interval: { doc: 'how often retention and the orphan sweep run', format: 'duration-ms', default: 3_600_000 },
  compaction_interval: { doc: 'how often finished days are compacted', format: 'duration-ms', default: 3_600_000 },
  compaction_min_files: { doc: 'a finished day is compacted once it has this many files', format: bounded(2, 1_000_000), default: 4 },
  compaction_target_file_bytes: { doc: 'compacted files grow to about this size', format: 'positive-int', default: 512 * 1024 * 1024 },
  compaction_settle: { doc: 'wait this long after a day ends before compacting it (late flows)', format: 'duration-ms', default: 3_600_000 },
  parquet: {
    compression_level: { doc: 'zstd level 1-22', format: bounded(1, 22), default: 3 },
    row_group_rows: { doc: 'rows per Parquet row group (large groups share one address dictionary: smaller files)', format: bounded(1024, 10_000_000), default: 1_048_576 },
    threads: { doc: 'DuckDB threads used to sort and encode (1: the COPY of a batch runs beside the pull loop; 2 took twice the CPU for it)', format: bounded(1, 256), default: 1 },
    memory_limit: { doc: 'DuckDB memory limit ("1GB"); larger batches spill to disk', format: memoryLimit, default: '1GB' },
  },
  metrics_listen_addr: { doc: 'Prometheus /metrics address; "" disables it', format: 'host-port-or-empty', default: ':9186' },
  security: securitySchema({ role: 'parquet-writer', cert_file: 'netflow-parquet.pem', key_file: 'netflow-parquet-key.pem' }),
  stream: streamSchema,
};

function relationError(c: ParquetWriterConfig): string | undefined {
  if (!c.iceberg_catalog && !c.output_path) return 'output_path: must name the table folder when iceberg_catalog is ""';
  if (c.ack_wait < 3000) return 'ack_wait: must be at least 3s (held messages are kept alive every third of it)';
  if (c.max_ack_pending < 2) return 'max_ack_pending: must be at least 2';
  return undefined;
}

export function loadParquetWriterConfig(path: string | undefined, opts: { required?: boolean; overrides?: Partial<ParquetWriterConfig> } = {}): ParquetWriterConfig {
  const config = loadConfig(parquetWriterSchema, path, opts);
  const problem = relationError(config);
  if (problem) throw new ConfigError(`config ${path ?? 'defaults'}: ${problem}`);
  return config;
}
