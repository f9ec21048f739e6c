// The checker's health: one report built from the listener, decoder and
// publisher counters. The same report is the gRPC GetStatus message, the
// netflow.status message, and (through collect callbacks) every /metrics
// series, so the three can never disagree.
import { Counter, Gauge, type Registry } from '../common/metrics.js';
import type { NatsState } from '../common/nats.js';
import type { DecoderStats } from './decoder/index.js';
import type { DropPolicy } from './config.js';
import type { ListenerStats } from './listener.js';
import type { PublisherStats } from './publisher.js';

export interface NatsHealth {
  state: NatsState | 'connecting';
  /** The NETFLOW stream exists with a layout we can publish to. */
  stream_ready: boolean;
  last_error: string;
}

export interface HealthInputs {
  collectorId: string;
  startedMs: number;
  listenAddr: string;
  queueSize: number;
  dropPolicy: DropPolicy;
  udp: ListenerStats;
  decoder: DecoderStats;
  publisher: PublisherStats;
  nats: NatsHealth;
}

export interface HealthReport {
  collector_id: string;
  uptime_s: number;
  listen_addr: string;
  /** NetFlow datagrams received and decoded (including those that failed). */
  packets: number;
  /** Flow records decoded. */
  flows: number;
  decode_errors: Record<string, number>;
  /** Templates known per exporter address. */
  templates: Record<string, number>;
  /** Estimated records (v5) or export packets (v9) lost, per "exporter/source_id". */
  sequence_gaps: Record<string, number>;
  /** Datagrams in which something was wrong (all or part dropped). */
  packets_malformed: number;
  /** v9 data sets waiting for their template; decoded when it came, expired, or refused for want of room. */
  pending: number;
  pending_decoded: number;
  pending_expired: number;
  pending_dropped: number;
  udp: ListenerStats;
  queue: { depth: number; size: number; policy: DropPolicy; in_flight: number; in_flight_batches: number };
  /** Records handed to the publisher, and acknowledged by JetStream. */
  received: number;
  published: number;
  batches_published: number;
  dropped: { queue_full: number; shutdown: number; kernel: number | null };
  publish_errors: Record<string, number>;
  publish_retries: number;
  duplicate_acks: number;
  nats: NatsHealth & { last_ack_ms: number };
}

export function buildHealth(i: HealthInputs): HealthReport {
  const d = i.decoder;
  const p = i.publisher;
  const gaps: Record<string, number> = {};
  for (const g of d.sequenceGaps) gaps[`${g.exporter}/${g.sourceId}${g.version === 5 ? '/v5' : ''}`] = g.lost;
  return {
    collector_id: i.collectorId,
    uptime_s: Math.round((Date.now() - i.startedMs) / 1000),
    listen_addr: i.listenAddr,
    packets: d.packets,
    flows: d.flows,
    decode_errors: { ...d.errors },
    templates: { ...d.templates },
    sequence_gaps: gaps,
    packets_malformed: d.packets_malformed,
    pending: d.pending,
    pending_decoded: d.pending_decoded,
    pending_expired: d.pending_expired,
    pending_dropped: d.pending_dropped,
    udp: i.udp,
    queue: { depth: p.queued, size: i.queueSize, policy: i.dropPolicy, in_flight: p.in_flight, in_flight_batches: p.in_flight_batches },
    received: p.received,
    published: p.published,
    batches_published: p.batches_published,
    dropped: { ...p.dropped, kernel: i.udp.kernel_drops },
    publish_errors: p.publish_errors,
    publish_retries: p.retries,
    duplicate_acks: p.duplicate_acks,
    nats: { ...i.nats, last_ack_ms: p.last_ack_ms },
  };
}

/** Available: receiving on the socket and able to publish (connected, stream in place). */
export function isAvailable(r: HealthReport): boolean {
  return r.nats.state === 'connected' && r.nats.stream_ready;
}

type Sample = [labels: Record<string, string>, value: number];

/** Registers every health counter and gauge; `read` is called once per scrape. */
export function registerHealthMetrics(registry: Registry, read: () => HealthReport): void {
  // One report per scrape, not one per series.
  let cached: { at: number; report: HealthReport } | undefined;
  const report = () => {
    if (!cached || Date.now() - cached.at > 100) cached = { at: Date.now(), report: read() };
    return cached.report;
  };
  const counter = (name: string, help: string, labelNames: string[], values: (r: HealthReport) => Sample[]) =>
    new Counter({
      name, help, labelNames, registers: [registry],
      collect() { this.reset(); for (const [l, v] of values(report())) this.inc(l, v); },
    });
  const gauge = (name: string, help: string, labelNames: string[], values: (r: HealthReport) => Sample[]) =>
    new Gauge({
      name, help, labelNames, registers: [registry],
      collect() { this.reset(); for (const [l, v] of values(report())) this.set(l, v); },
    });
  const one = (v: number): Sample[] => [[{}, v]];
  const byKey = (label: string, m: Record<string, number>): Sample[] => Object.entries(m).map(([k, v]) => [{ [label]: k }, v]);

  counter('netflow_checker_datagrams_total', 'UDP datagrams read from the socket', [], (r) => one(r.udp.datagrams));
  counter('netflow_checker_datagram_bytes_total', 'UDP payload bytes read from the socket', [], (r) => one(r.udp.bytes));
  counter('netflow_checker_packets_total', 'NetFlow export packets decoded', [], (r) => one(r.packets));
  counter('netflow_checker_flows_total', 'flow records decoded', [], (r) => one(r.flows));
  counter('netflow_checker_decode_errors_total', 'datagrams or sets that failed to decode, by kind', ['kind'], (r) => byKey('kind', r.decode_errors));
  gauge('netflow_checker_templates', 'v9 templates known, by exporter', ['exporter'], (r) => byKey('exporter', r.templates));
  counter('netflow_checker_sequence_gap_total', 'estimated records (v5) or packets (v9) lost before us, by exporter/source id', ['exporter_source'], (r) => byKey('exporter_source', r.sequence_gaps));
  counter('netflow_checker_packets_malformed_total', 'export packets with something wrong (all or part dropped)', [], (r) => one(r.packets_malformed));
  gauge('netflow_checker_pending_sets', 'v9 data sets waiting for their template', [], (r) => one(r.pending));
  counter('netflow_checker_pending_sets_total', 'v9 data sets that waited for their template, by outcome', ['outcome'], (r) => [
    [{ outcome: 'decoded' }, r.pending_decoded], [{ outcome: 'expired' }, r.pending_expired], [{ outcome: 'dropped' }, r.pending_dropped],
  ]);
  gauge('netflow_checker_receive_backlog_bytes', 'datagram bytes read by the receive thread, not yet decoded', [], (r) => one(r.udp.backlog_bytes));
  gauge('netflow_checker_queue_depth', 'records queued for JetStream', [], (r) => one(r.queue.depth));
  gauge('netflow_checker_queue_size', 'queue capacity in records', [], (r) => one(r.queue.size));
  gauge('netflow_checker_in_flight', 'records published and not yet acknowledged', [], (r) => one(r.queue.in_flight));
  counter('netflow_checker_received_total', 'records handed to the publisher', [], (r) => one(r.received));
  counter('netflow_checker_published_total', 'records acknowledged by JetStream', [], (r) => one(r.published));
  counter('netflow_checker_batches_published_total', 'FlowBatch messages acknowledged by JetStream', [], (r) => one(r.batches_published));
  counter('netflow_checker_dropped_total', 'records (queue) or datagrams (kernel) dropped, by reason', ['reason'], (r) => [
    [{ reason: 'queue_full' }, r.dropped.queue_full],
    [{ reason: 'shutdown' }, r.dropped.shutdown],
    ...(r.dropped.kernel === null ? [] : [[{ reason: 'kernel' }, r.dropped.kernel] as Sample]),
  ]);
  counter('netflow_checker_publish_errors_total', 'failed publish attempts (retried), by kind', ['kind'], (r) => byKey('kind', r.publish_errors));
  counter('netflow_checker_publish_retries_total', 'batches sent again after a failed attempt', [], (r) => one(r.publish_retries));
  gauge('netflow_checker_nats_connected', '1 when connected to NATS with the stream in place', [], (r) => one(isAvailable(r) ? 1 : 0));
}
