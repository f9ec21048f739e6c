// The checker's configuration: /etc/serviceradar/checkers/netflow.json in the
// PRD's shape (listen_addr, nats_url, security) plus the knobs of the pipeline.
// Every key is validated; an invalid one stops start-up with its name.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { bounded, ConfigError, loadConfig, type Schema } from '../common/config.js';
import { securitySchema, type SecurityConfig } from '../common/security.js';
import { streamSchema, type StreamLimits } from '../common/stream.js';

export const DEFAULT_CONFIG_PATH = '/etc/serviceradar/checkers/netflow.json';

export type DropPolicy = 'block' | 'drop_oldest' | 'drop_newest';

export interface CheckerConfig {
  listen_addr: string;
  nats_url: string;
  security: SecurityConfig;
  grpc_listen_addr: string;
  metrics_listen_addr: string;
  collector_id: string;
  receive_buffer_bytes: number;
  queue_size: number;
  drop_policy: DropPolicy;
  batch_size: number;
  batch_linger_ms: number;
  max_in_flight: number;
  publish_timeout_ms: number;
  status_interval_ms: number;
  shutdown_timeout_ms: number;
  default_sampling_rate: number;
  sampling_rates: Array<{ exporter: string; rate: number }>;
  decoder: { max_templates_per_exporter: number; pending_per_exporter: number; pending_ttl_ms: number };
  stream: StreamLimits;
}

// Rates for exporters that do not announce one. A list, not an object keyed by
// address: convict reads dots in keys as nesting.
function samplingRates(value: unknown): void {
  if (!Array.isArray(value)) throw new Error('must be a list of {"exporter": address, "rate": N}');
  value.forEach((entry: unknown, i) => {
    const e = entry as { exporter?: unknown; rate?: unknown };
    if (typeof entry !== 'object' || entry === null || Object.keys(entry).some((k) => k !== 'exporter' && k !== 'rate')) throw new Error(`[${i}] must be {"exporter": address, "rate": N}`);
    if (typeof e.exporter !== 'string' || !isIP(e.exporter)) throw new Error(`[${i}].exporter must be an IP address`);
    if (!Number.isInteger(e.rate) || (e.rate as number) <= 0) throw new Error(`[${i}].rate must be a positive integer`);
  });
}

function collectorId(value: unknown): void {
  // It prefixes every Nats-Msg-Id: printable, no spaces.
  if (typeof value !== 'string' || !/^[A-Za-z0-9._:@-]{1,128}$/.test(value)) throw new Error('must be 1-128 characters of letters, digits and . _ : @ -');
}

export const checkerSchema: Schema<CheckerConfig> = {
  listen_addr: { doc: 'NetFlow UDP address; ":2055" is every IPv4 and IPv6 address', format: 'host-port', default: ':2055' },
  nats_url: { doc: 'NATS server(s), comma separated', format: 'nats-url', default: 'nats://localhost:4222' },
  security: securitySchema({ role: 'checker', cert_file: 'netflow.pem', key_file: 'netflow-key.pem' }),
  grpc_listen_addr: { doc: 'gRPC address the ServiceRadar agent checks (health + GetStatus)', format: 'host-port', default: ':50084' },
  metrics_listen_addr: { doc: 'Prometheus /metrics address; "" disables it', format: 'host-port-or-empty', default: ':9184' },
  collector_id: { doc: 'name of this checker in every batch and status', format: collectorId, default: hostname().replace(/[^A-Za-z0-9._:@-]/g, '_').slice(0, 128) || 'checker' },
  receive_buffer_bytes: { doc: 'UDP socket receive buffer asked of the kernel (capped by net.core.rmem_max)', format: 'positive-int', default: 32 * 1024 * 1024 },
  queue_size: { doc: 'flow records held while NATS is slow or down', format: 'positive-int', default: 200_000 },
  drop_policy: { doc: 'when the queue is full: block (stop reading the socket), drop_oldest, drop_newest', format: ['block', 'drop_oldest', 'drop_newest'], default: 'drop_oldest' },
  batch_size: { doc: 'flow records per NATS message', format: bounded(1, 20_000), default: 1000 },
  batch_linger_ms: { doc: 'longest a record waits for its batch to fill', format: 'duration-ms', default: 200 },
  max_in_flight: { doc: 'batches published and not yet acknowledged', format: bounded(1, 10_000), default: 64 },
  publish_timeout_ms: { doc: 'wait for a JetStream ack before retrying', format: 'duration-ms', default: 5000 },
  status_interval_ms: { doc: 'period of the health message on netflow.status', format: 'duration-ms', default: 30_000 },
  shutdown_timeout_ms: { doc: 'longest a stop waits for the queue to drain', format: 'duration-ms', default: 10_000 },
  default_sampling_rate: { doc: 'sampling rate of exporters that announce none and are not listed in sampling_rates; 0 = unsampled', format: bounded(0, 1 << 30), default: 0 },
  sampling_rates: { doc: 'per exporter: [{"exporter": "192.0.2.1", "rate": 1000}], for exporters that announce no rate', format: samplingRates, default: [] },
  decoder: {
    max_templates_per_exporter: { doc: 'v9 templates kept per exporter', format: 'positive-int', default: 4096 },
    pending_per_exporter: { doc: 'v9 data sets held per exporter while their template is unknown', format: 'positive-int', default: 256 },
    pending_ttl_ms: { doc: 'how long such a data set waits for its template', format: 'duration-ms', default: 60_000 },
  },
  stream: streamSchema,
};

/** Rules convict cannot express across keys; each names its key. */
function relationError(c: CheckerConfig): string | undefined {
  if (c.queue_size < c.batch_size) return `queue_size: must be at least batch_size (${c.batch_size})`;
  if (c.status_interval_ms < 1000) return 'status_interval_ms: must be at least 1s';
  if (c.publish_timeout_ms < 100) return 'publish_timeout_ms: must be at least 100ms';
  if (c.batch_linger_ms < 1) return 'batch_linger_ms: must be at least 1ms';
  return undefined;
}

// convict merges an object given for a list-valued key instead of refusing it
// (so {"sampling_rates": {"192.0.2.1": 100}} would silently mean no rates).
function objectForList(path: string): string | undefined {
  let raw: unknown;
  try { raw = JSON.parse(readFileSync(path, 'utf8')); } catch { return undefined; }
  const rates = (raw as { sampling_rates?: unknown } | null)?.sampling_rates;
  return rates !== undefined && !Array.isArray(rates) ? 'sampling_rates: must be a list of {"exporter": address, "rate": N}' : undefined;
}

/** `required`: a path the user named must exist; the default path may be absent (defaults apply). */
export function loadCheckerConfig(path: string | undefined, opts: { required?: boolean; overrides?: Partial<CheckerConfig> } = {}): CheckerConfig {
  const config = loadConfig(checkerSchema, path, opts);
  const problem = relationError(config) ?? (path ? objectForList(path) : undefined);
  if (problem) throw new ConfigError(`config ${path ?? 'defaults'}: ${problem}`);
  return config;
}
