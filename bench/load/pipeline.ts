// The whole pipeline as separate processes, the way the packages run it:
// nats-server, the checker, clickhouse-writer (embedded chDB or a
// clickhouse-server), parquet-writer (filesystem Iceberg table) and, with a
// ClickHouse server, the core-extension. Each service is `node dist/cli.js
// <service> --config FILE`, logging to logs/<service>.log in the run folder,
// and can be stopped, killed (-9) and started again on the same config and data.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type JetStreamManager, type NatsConnection } from 'nats';
import { CONSUMERS, STREAM } from '../../common/stream.js';
import { startLocalNats, type LocalNats } from '../../demo/nats-server.js';
import { hashToken } from '../../core-extension/api/auth.js';
import { startClickHouseServer, type ClickHouseServer } from '../../test/helpers/clickhouse-server.js';
import { freePort, waitFor } from '../../test/helpers/process.js';

const CLI = fileURLToPath(new URL('../../cli.js', import.meta.url));
export const API_TOKEN = 'load-harness-token-0123456789abcdef';

export type ServiceName = 'checker' | 'clickhouse-writer' | 'parquet-writer' | 'core';

export interface PipelineOptions {
  dir: string;
  /** 'chdb': embedded in the writer (no core: chDB binds its folder to one process); 'server': a clickhouse-server 18.16 of our own. */
  clickhouse: 'chdb' | 'server';
  /** The Iceberg table folder (default dir/iceberg/netflow); a fault puts it on a small filesystem. */
  icebergPath?: string;
  /** Longest a record waits for its Iceberg commit. */
  coldIntervalMs: number;
  checker?: Record<string, unknown>;
  clickhouseWriter?: Record<string, unknown>;
  parquetWriter?: Record<string, unknown>;
  /** Stream bytes buffered for lagging writers (the default 1 GiB is ~2 min at 100k flows/s). */
  streamMaxBytes?: number;
  /** Services run with V8's CPU profiler (--cpu-prof), profiles written to dir/profiles when they stop. */
  profile?: ServiceName[];
}

interface Running { proc: ChildProcess; exited: Promise<void> }

export interface Ports { udp: number; checkerGrpc: number; checkerMetrics: number; chMetrics: number; pqMetrics: number; http: number; grpc: number; nats: number }

export class Pipeline {
  readonly ports: Ports;
  readonly icebergPath: string;
  clickhouseServer: ClickHouseServer | undefined;
  private nats: LocalNats | undefined;
  private nc: NatsConnection | undefined;
  private jsm: JetStreamManager | undefined;
  private readonly running = new Map<ServiceName, Running>();
  readonly services: ServiceName[];

  private constructor(public opts: PipelineOptions, ports: Ports) {
    this.ports = ports;
    this.icebergPath = opts.icebergPath ?? join(opts.dir, 'iceberg', 'netflow');
    this.services = opts.clickhouse === 'server' ? ['checker', 'clickhouse-writer', 'parquet-writer', 'core'] : ['checker', 'clickhouse-writer', 'parquet-writer'];
  }

  /** `created`: a pipeline from create() (its ports known to set up something in between first). */
  static async start(opts: PipelineOptions, created?: Pipeline): Promise<Pipeline> {
    const p = created ?? await Pipeline.create(opts);
    p.opts = opts;
    await p.startNats();
    if (opts.clickhouse === 'server') p.clickhouseServer = await startClickHouseServer({ timezone: 'UTC' });
    p.writeConfigs();
    // The checker first: it creates the stream the writers read.
    for (const s of p.services) await p.startService(s);
    return p;
  }

  /** Ports and configs only (for a test that starts pieces itself). */
  static async create(opts: PipelineOptions): Promise<Pipeline> {
    mkdirSync(join(opts.dir, 'logs'), { recursive: true });
    const ports: Ports = {
      udp: await freePort(), checkerGrpc: await freePort(), checkerMetrics: await freePort(), chMetrics: await freePort(),
      pqMetrics: await freePort(), http: await freePort(), grpc: await freePort(), nats: await freePort(),
    };
    return new Pipeline(opts, ports);
  }

  get natsUrl(): string { return `nats://127.0.0.1:${this.ports.nats}`; }
  get apiBase(): string { return `http://127.0.0.1:${this.ports.http}`; }

  async startNats(): Promise<void> {
    this.nats = await startLocalNats({ host: '127.0.0.1', port: this.ports.nats, dataDir: join(this.opts.dir, 'nats') });
    // After a restart the harness's own connection reconnects by itself.
    if (this.nc) return;
    this.nc = await connect({ servers: this.natsUrl, name: 'load-harness', maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    this.jsm = await this.nc.jetstreamManager();
  }

  async stopNats(): Promise<void> { await this.nats?.stop(); this.nats = undefined; }

  natsPid(): number | undefined {
    try { return Number(readFileSync(join(this.opts.dir, 'nats', 'nats-server.pid'), 'utf8').trim()) || undefined; } catch { return undefined; }
  }

  private writeConfigs(): void {
    const stream = { max_bytes: this.opts.streamMaxBytes ?? 8 * 1024 ** 3 };
    const ch = this.clickhouseServer;
    const engine = ch ? { clickhouse_url: ch.url, clickhouse_user: ch.user, clickhouse_password: ch.password } : { clickhouse_url: '', clickhouse_data_dir: join(this.opts.dir, 'chdb') };
    const write = (name: ServiceName, config: unknown) => writeFileSync(this.configFile(name), JSON.stringify(config, null, 2));
    write('checker', {
      listen_addr: `127.0.0.1:${this.ports.udp}`, grpc_listen_addr: `127.0.0.1:${this.ports.checkerGrpc}`, metrics_listen_addr: `127.0.0.1:${this.ports.checkerMetrics}`,
      nats_url: this.natsUrl, collector_id: 'load', status_interval_ms: '5s', stream, ...this.opts.checker,
    });
    write('clickhouse-writer', {
      nats_url: this.natsUrl, ...engine, clickhouse_database: 'netflow', metrics_listen_addr: `127.0.0.1:${this.ports.chMetrics}`,
      request_timeout: '30s', stream, ...this.opts.clickhouseWriter,
    });
    write('parquet-writer', {
      nats_url: this.natsUrl, output_path: this.icebergPath, batch_interval: this.opts.coldIntervalMs, ack_wait: '30s',
      metrics_listen_addr: `127.0.0.1:${this.ports.pqMetrics}`, stream, ...this.opts.parquetWriter,
    });
    if (ch) write('core', {
      netflow: {
        clickhouse_url: ch.url, clickhouse_user: ch.user, clickhouse_password: ch.password, clickhouse_database: 'netflow',
        iceberg_path: this.icebergPath, nats_url: this.natsUrl, query_timeout: '20s',
      },
      http: { listen_addr: `127.0.0.1:${this.ports.http}`, ui_dir: join(this.opts.dir, 'no-ui') },
      grpc: { listen_addr: `127.0.0.1:${this.ports.grpc}` },
      api_tokens: [{ name: 'load-harness', token_hash: hashToken(API_TOKEN) }],
    });
  }

  configFile(name: ServiceName): string { return join(this.opts.dir, `${name}.json`); }
  logFile(name: ServiceName): string { return join(this.opts.dir, 'logs', `${name}.log`); }

  async startService(name: ServiceName): Promise<void> {
    if (this.running.has(name)) throw new Error(`${name} is already running`);
    const fd = openSync(this.logFile(name), 'a');
    const profile = this.opts.profile?.includes(name) ? ['--cpu-prof', '--cpu-prof-dir', join(this.opts.dir, 'profiles', name)] : [];
    const proc = spawn(process.execPath, [...profile, CLI, name, '--config', this.configFile(name)], { stdio: ['ignore', fd, fd], env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' } });
    closeSync(fd);
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    const reap = () => { if (proc.exitCode === null) proc.kill('SIGKILL'); };
    process.once('exit', reap);
    exited.then(() => { process.off('exit', reap); if (this.running.get(name)?.proc === proc) this.running.delete(name); });
    this.running.set(name, { proc, exited });
    await waitFor(`${name} to start`, async () => {
      if (proc.exitCode !== null) throw new Error(`${name} exited with ${proc.exitCode}: ${this.logTail(name)}`);
      return this.ready(name);
    }, 90_000, 200);
  }

  private async ready(name: ServiceName): Promise<boolean> {
    const metricsPort = { checker: this.ports.checkerMetrics, 'clickhouse-writer': this.ports.chMetrics, 'parquet-writer': this.ports.pqMetrics, core: 0 }[name];
    if (name === 'core') return (await fetch(`${this.apiBase}/api/health`).catch(() => undefined))?.status !== undefined;
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).catch(() => undefined);
    if (!res?.ok) return false;
    await res.text();
    return name !== 'checker' || (await this.metrics('checker'))['netflow_checker_nats_connected'] === 1;
  }

  pid(name: ServiceName): number | undefined { return this.running.get(name)?.proc.pid; }
  isRunning(name: ServiceName): boolean { return this.running.has(name); }

  /** SIGKILL, and waits for the process to be gone. */
  async kill(name: ServiceName): Promise<void> { await this.signal(name, 'SIGKILL'); }
  /** SIGTERM: a clean stop (the service drains what it holds). */
  async stop(name: ServiceName): Promise<void> { await this.signal(name, 'SIGTERM'); }

  private async signal(name: ServiceName, sig: NodeJS.Signals): Promise<void> {
    const r = this.running.get(name);
    if (!r) return;
    r.proc.kill(sig);
    const timer = setTimeout(() => r.proc.kill('SIGKILL'), 30_000);
    await r.exited;
    clearTimeout(timer);
    this.running.delete(name);
  }

  logTail(name: ServiceName, bytes = 3000): string {
    try { return readFileSync(this.logFile(name), 'utf8').slice(-bytes); } catch { return ''; }
  }

  /** Prometheus text of a service, as name{labels} -> value. */
  async metrics(name: 'checker' | 'clickhouse-writer' | 'parquet-writer'): Promise<Record<string, number>> {
    const port = { checker: this.ports.checkerMetrics, 'clickhouse-writer': this.ports.chMetrics, 'parquet-writer': this.ports.pqMetrics }[name];
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const out: Record<string, number> = {};
    for (const m of text.matchAll(/^([a-z_]+)(\{[^}]*\})? (\S+)$/gm)) out[m[1]! + (m[2] ?? '')] = Number(m[3]);
    return out;
  }

  /** Messages each writer has not acknowledged yet (pending + delivered unacked); undefined while NATS is away. */
  async lag(): Promise<{ clickhouse: number; iceberg: number; streamMessages: number; streamBytes: number } | undefined> {
    try {
      const [ch, ice, st] = await Promise.all([
        this.jsm!.consumers.info(STREAM, CONSUMERS.clickhouse), this.jsm!.consumers.info(STREAM, CONSUMERS.iceberg), this.jsm!.streams.info(STREAM),
      ]);
      return { clickhouse: ch.num_pending + ch.num_ack_pending, iceberg: ice.num_pending + ice.num_ack_pending, streamMessages: st.state.messages, streamBytes: st.state.bytes };
    } catch { return undefined; }
  }

  /** Every process of the pipeline with its pid, for the resource sampler. */
  pids(): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    const nats = this.natsPid();
    if (nats && this.nats) out.push(['nats-server', nats]);
    const ch = this.clickhouseServer?.pid();
    if (ch) out.push(['clickhouse-server', ch]);
    for (const [name, r] of this.running) if (r.proc.pid) out.push([name, r.proc.pid]);
    return out;
  }

  async close(): Promise<void> {
    for (const s of [...this.services].reverse()) await this.stop(s);
    await this.nc?.close().catch(() => {});
    await this.stopNats();
    await this.clickhouseServer?.destroy();
  }
}
