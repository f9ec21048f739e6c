// The checker's configuration: /etc/serviceradar/checkers/netflow.json in the
// PRD's shape (listen_addr, nats_url, security) plus the knobs of the pipeline.
// Every key is validated; an invalid one stops start-up with its name.
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { ConfigError, loadConfig, type Schema } from '../common/config.js';
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
  sampling_rates: Record<string, number>;
  decoder: { max_templates_per_exporter: number; pending_per_exporter: number; pending_ttl_ms: number };
  stream: StreamLimits;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^:\s]*):(\d{1,5})$/;

function hostPortOrEmpty(value: unknown): void {
  if (value === '') return;
  const m = typeof value === 'string' ? HOST_PORT.exec(value) : null;
  if (!m || Number(m[2]) > 65535) throw new Error('must be host:port (":9184", "127.0.0.1:9184") or "" to disable');
}

// Exporter address -> 1-in-N rate for exporters that do not announce one;
// "default" applies to every other exporter.
function samplingRates(value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('must be an object of exporter address -> rate');
  for (const [key, rate] of Object.entries(value)) {
    if (key !== 'default' && !isIP(key)) throw new Error(`key "${key}" is neither an IP address nor "default"`);
    if (!Number.isInteger(rate) || (rate as number) <= 0) throw new Error(`rate for "${key}" must be a positive integer`);
  }
}

function bounded(min: number, max: number) {
  return (value: unknown) => {
    if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) throw new Error(`must be an integer from ${min} to ${max}`);
  };
}

export const checkerSchema: Schema<CheckerConfig> = {
  listen_addr: { doc: 'NetFlow UDP address; ":2055" is every IPv4 and IPv6 address', format: 'host-port', default: ':2055' },
  nats_url: { doc: 'NATS server(s), comma separated', format: String, default: 'nats://localhost:4222' },
  security: securitySchema({ role: 'checker', cert_file: 'netflow.pem', key_file: 'netflow-key.pem' }),
  grpc_listen_addr: { doc: 'gRPC address the ServiceRadar agent checks (health + GetStatus)', format: 'host-port', default: ':50084' },
  metrics_listen_addr: { doc: 'Prometheus /metrics address; "" disables it', format: hostPortOrEmpty, default: ':9184' },
  collector_id: { doc: 'name of this checker in every batch and status', format: String, default: hostname() },
  receive_buffer_bytes: { doc: 'UDP socket receive buffer asked of the kernel (capped by net.core.rmem_max)', format: 'positive-int', default: 32 * 1024 * 1024 },
  queue_size: { doc: 'flow records held while NATS is slow or down', format: 'positive-int', default: 200_000 },
  drop_policy: { doc: 'when the queue is full: block (stop reading the socket), drop_oldest, drop_newest', format: ['block', 'drop_oldest', 'drop_newest'], default: 'drop_oldest' },
  batch_size: { doc: 'flow records per NATS message', format: bounded(1, 20_000), default: 1000 },
  batch_linger_ms: { doc: 'longest a record waits for its batch to fill', format: 'duration-ms', default: 200 },
  max_in_flight: { doc: 'batches published and not yet acknowledged', format: bounded(1, 10_000), default: 64 },
  publish_timeout_ms: { doc: 'wait for a JetStream ack before retrying', format: 'duration-ms', default: 5000 },
  status_interval_ms: { doc: 'period of the health message on netflow.status', format: 'duration-ms', default: 30_000 },
  shutdown_timeout_ms: { doc: 'longest a stop waits for the queue to drain', format: 'duration-ms', default: 10_000 },
  sampling_rates: { doc: 'exporter address (or "default") -> sampling rate when the exporter announces none', format: samplingRates, default: {} },
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
  const servers = c.nats_url.split(',').map((x) => x.trim()).filter(Boolean);
  if (!servers.length) return 'nats_url: must name at least one server';
  for (const s of servers) {
    try { new URL(s.includes('://') ? s : `nats://${s}`); } catch { return `nats_url: "${s}" is not a URL`; }
  }
  return undefined;
}

/** `required`: a path the user named must exist; the default path may be absent (defaults apply). */
export function loadCheckerConfig(path: string | undefined, opts: { required?: boolean; overrides?: Partial<CheckerConfig> } = {}): CheckerConfig {
  const config = loadConfig(checkerSchema, path, opts);
  const problem = relationError(config);
  if (problem) throw new ConfigError(`config ${path ?? 'defaults'}: ${problem}`);
  return config;
}
