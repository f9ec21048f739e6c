// The edge checker as one Service: UDP in -> decode -> batch -> JetStream,
// with the gRPC checker face for the ServiceRadar agent, the health message
// on netflow.status and /metrics. Nothing is stored locally but logs.
import type { Server } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { connectNats, type NatsLink } from '../common/nats.js';
import { loadTls } from '../common/security.js';
import { ensureStream, StreamConflictError, STATUS_SUBJECT } from '../common/stream.js';
import { startCheckerServer, type CheckerServer, type CheckerStatus } from '../common/grpc.js';
import { createRegistry, serveMetrics, type Registry } from '../common/metrics.js';
import type { Logger } from '../common/log.js';
import type { Service } from '../common/service.js';
import { NetFlowDecoder } from './decoder/index.js';
import type { CheckerConfig } from './config.js';
import { UdpListener } from './listener.js';
import { jetStreamTransport, Publisher } from './publisher.js';
import { buildHealth, isAvailable, registerHealthMetrics, type HealthReport, type NatsHealth } from './health.js';

const DECODE_ERROR_LOG_MS = 10_000;

export interface CheckerAddresses { udpPort: number; grpcPort: number; metricsPort: number | undefined }

export class CheckerService implements Service {
  readonly name = 'checker';
  readonly registry: Registry;
  private readonly decoder: NetFlowDecoder;
  private readonly publisher: Publisher;
  private readonly listener: UdpListener;
  private grpc: CheckerServer | undefined;
  private metricsServer: Server | undefined;
  private link: NatsLink | undefined;
  private nats: NatsHealth = { state: 'connecting', stream_ready: false, last_error: '' };
  private stopping = false;
  private readonly stopSignal = new AbortController();
  private connecting: Promise<void> | undefined;
  private timers: NodeJS.Timeout[] = [];
  private startedMs = 0;
  private udpPort = 0;
  private lastDecodeErrors: Record<string, number> = {};
  private ensuringStream = false;

  constructor(private readonly config: CheckerConfig, private readonly log: Logger, opts: { registry?: Registry } = {}) {
    const rates = new Map(config.sampling_rates.map((r) => [r.exporter, r.rate]));
    const fallback = config.default_sampling_rate || undefined;
    this.decoder = new NetFlowDecoder({
      maxTemplatesPerExporter: config.decoder.max_templates_per_exporter,
      pendingPerExporter: config.decoder.pending_per_exporter,
      pendingTtlMs: config.decoder.pending_ttl_ms,
      defaultSamplingRate: (exporter: string) => rates.get(exporter) ?? fallback,
    });
    this.publisher = new Publisher({
      collectorId: config.collector_id,
      batchSize: config.batch_size,
      lingerMs: config.batch_linger_ms,
      queueSize: config.queue_size,
      policy: config.drop_policy,
      maxInFlight: config.max_in_flight,
    }, log);
    this.listener = new UdpListener(config.listen_addr, config.receive_buffer_bytes, (d, exporter, at) => this.onDatagram(d, exporter, at), log);
    this.publisher.onRoom(() => this.listener.resume());
    this.registry = opts.registry ?? createRegistry('checker');
    registerHealthMetrics(this.registry, () => this.health());
  }

  async start(): Promise<void> {
    // Unreadable certificates fail here, naming the key, before anything is bound.
    loadTls(this.config.security);
    this.startedMs = Date.now();
    try {
      this.udpPort = (await this.listener.start()).port;
      this.grpc = await startCheckerServer({
        listen: this.config.grpc_listen_addr,
        security: this.config.security,
        serviceName: 'netflow',
        serviceType: 'grpc',
        status: () => this.status(),
        log: this.log,
      });
      if (this.config.metrics_listen_addr) {
        const at = this.config.metrics_listen_addr.lastIndexOf(':');
        const host = this.config.metrics_listen_addr.slice(0, at).replace(/^\[(.*)\]$/, '$1') || '::';
        this.metricsServer = await serveMetrics([this.registry], host, Number(this.config.metrics_listen_addr.slice(at + 1)));
      }
    } catch (err) {
      await this.release();
      throw err;
    }
    // NATS may come up after us: records queue meanwhile and the agent sees why.
    this.connecting = this.connectLoop();
    this.timers.push(setInterval(() => this.publishStatus(), this.config.status_interval_ms));
    this.timers.push(setInterval(() => this.logDecodeErrors(), DECODE_ERROR_LOG_MS));
  }

  /** Stops reading, flushes the queue to JetStream (bounded by shutdown_timeout), then releases everything. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopSignal.abort();
    await this.listener.stop();
    const drained = await this.publisher.flush(this.config.shutdown_timeout_ms);
    const p = this.publisher.stats();
    this.log.info({ drained, received: p.received, published: p.published, dropped: p.dropped }, 'checker stopped; queue flushed');
    this.publishStatus();
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.publisher.close();
    await this.connecting;
    if (this.link) await this.link.nc.drain().catch(() => this.link?.nc.close());
    await this.release();
  }

  private async release(): Promise<void> {
    await this.listener.stop();
    await this.grpc?.stop();
    this.grpc = undefined;
    const m = this.metricsServer;
    this.metricsServer = undefined;
    if (m) await new Promise<void>((resolve) => m.close(() => resolve()));
  }

  addresses(): CheckerAddresses {
    const m = this.metricsServer?.address();
    return { udpPort: this.udpPort, grpcPort: this.grpc?.port ?? 0, metricsPort: m && typeof m === 'object' ? m.port : undefined };
  }

  health(): HealthReport {
    return buildHealth({
      collectorId: this.config.collector_id,
      startedMs: this.startedMs,
      listenAddr: this.config.listen_addr,
      queueSize: this.config.queue_size,
      dropPolicy: this.config.drop_policy,
      udp: this.listener.stats(),
      decoder: this.decoder.stats(),
      publisher: this.publisher.stats(),
      nats: { ...this.nats, state: this.link?.state() ?? this.nats.state },
    });
  }

  status(): CheckerStatus {
    const report = this.health();
    return { available: !this.stopping && isAvailable(report), message: report as unknown as Record<string, unknown> };
  }

  private onDatagram(datagram: Uint8Array, exporter: string, receivedMs: number): void {
    const records = this.decoder.decode(datagram, exporter, receivedMs);
    if (records.length && !this.publisher.offer(records) && this.config.drop_policy === 'block') this.listener.pause();
  }

  private async connectLoop(): Promise<void> {
    let backoff = 500;
    while (!this.stopping) {
      try {
        const link = await connectNats(this.config.nats_url, this.config.security, `serviceradar-netflow-checker ${this.config.collector_id}`, this.log, { waitOnFirstConnect: false });
        if (this.stopping) { await link.nc.close(); return; }
        this.link = link;
        this.nats.state = 'connected';
        this.log.info({ nats_url: this.config.nats_url }, 'connected to nats');
        await this.ensureStreamUntilReady();
        if (this.stopping) return;
        this.publisher.attach(jetStreamTransport(link, this.config.publish_timeout_ms, () => this.recreateStream()));
        return;
      } catch (err) {
        this.nats.last_error = (err as Error).message;
        this.log.warn({ err: this.nats.last_error, retry_ms: backoff }, 'nats not reachable; records queue meanwhile');
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  private async ensureStreamUntilReady(): Promise<void> {
    let backoff = 1000;
    while (!this.stopping) {
      try {
        await ensureStream(await this.link!.nc.jetstreamManager(), this.config.stream, this.log);
        this.nats.stream_ready = true;
        return;
      } catch (err) {
        this.nats.last_error = (err as Error).message;
        // A conflicting stream needs an operator; anything else is usually JetStream still starting.
        if (err instanceof StreamConflictError) this.log.error({ err: this.nats.last_error }, 'cannot publish: stream conflict');
        else this.log.warn({ err: this.nats.last_error }, 'ensuring the NETFLOW stream failed; retrying');
        await this.sleep(err instanceof StreamConflictError ? 30_000 : backoff);
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  private recreateStream(): void {
    if (this.ensuringStream || !this.link) return;
    this.ensuringStream = true;
    this.nats.stream_ready = false;
    this.ensureStreamUntilReady().finally(() => { this.ensuringStream = false; });
  }

  private publishStatus(): void {
    const link = this.link;
    if (!link || link.state() !== 'connected') return;
    try {
      link.nc.publish(STATUS_SUBJECT, JSON.stringify(this.health()));
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'publishing status failed');
    }
  }

  /** One log line per period for all decode errors in it: a broken exporter cannot flood the log. */
  private logDecodeErrors(): void {
    const now: Record<string, number> = this.decoder.stats().errors;
    const delta: Record<string, number> = {};
    for (const [kind, n] of Object.entries(now)) {
      const d = n - (this.lastDecodeErrors[kind] ?? 0);
      if (d > 0) delta[kind] = d;
    }
    this.lastDecodeErrors = now;
    if (Object.keys(delta).length) this.log.warn({ decode_errors: delta, period_ms: DECODE_ERROR_LOG_MS }, 'datagrams failed to decode');
  }

  /** A backoff that ends early when the service stops. */
  private sleep(ms: number): Promise<void> {
    return delay(ms, undefined, { signal: this.stopSignal.signal }).catch(() => undefined);
  }
}
