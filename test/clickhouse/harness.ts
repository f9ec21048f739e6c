// What the hot-tier tests share: both real engines (chDB in this process, and a
// clickhouse-server 18.16 process), a real nats-server, flows with awkward
// values, and the totals the tests work out themselves from what they sent.
import { rng } from '../../demo/traffic.js';
import { connect, type NatsConnection } from 'nats';
import { encodeBatch, emptyRecord, type FlowRecord } from '../../common/flow.js';
import { createLogger } from '../../common/log.js';
import { createRegistry } from '../../common/metrics.js';
import { STREAM, SUBJECT } from '../../common/stream.js';
import { loadWriterConfig, type ClickHouseWriterConfig } from '../../consumers/clickhouse/config.js';
import { openEngine, type ClickHouseEngine, type EngineConfig } from '../../consumers/clickhouse/engine.js';
import { ClickHouseWriterService } from '../../consumers/clickhouse/service.js';
import { startClickHouseServer, type ClickHouseServer } from '../helpers/clickhouse-server.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { tempDir, waitFor } from '../helpers/process.js';

export const log = createLogger('test-clickhouse', process.env.LOG_LEVEL ?? 'silent');

export type EngineKind = 'chdb' | 'server';
export const ENGINE_KINDS: readonly EngineKind[] = ['chdb', 'server'];
export const ENGINE_NAMES: Record<EngineKind, string> = { chdb: 'chDB (embedded)', server: 'clickhouse-server 18.16' };

/** chDB binds one data directory per process: every chDB test in this file shares it, each with its own database. */
let chdbDir: { path: string; remove(): void } | undefined;
export function sharedChdbDir(): string {
  chdbDir ??= tempDir('chdb');
  return chdbDir.path;
}

export interface EngineEnv {
  kind: EngineKind;
  /** How the writer and the test reach the engine. */
  engineConfig: EngineConfig;
  server?: ClickHouseServer;
  /** A handle for the test's own queries. */
  engine: ClickHouseEngine;
  close(): Promise<void>;
}

export async function startEngine(kind: EngineKind): Promise<EngineEnv> {
  const server = kind === 'server' ? await startClickHouseServer() : undefined;
  const engineConfig: EngineConfig = server
    ? { clickhouse_url: server.url, clickhouse_user: server.user, clickhouse_password: server.password }
    : { clickhouse_url: '', clickhouse_data_dir: sharedChdbDir() };
  const engine = await openEngine(engineConfig);
  return {
    kind, engineConfig, server, engine,
    async close() {
      await engine.close();
      await server?.destroy();
    },
  };
}

let dbCounter = 0;
/** A database name no other test in this process uses. */
export function freshDatabase(): string {
  return `t${process.pid}_${++dbCounter}`;
}

/** The writer's config for a test: small batches, quick redelivery, no metrics port. */
export function writerConfig(env: EngineEnv, nats: NatsServer, database: string, overrides: Partial<ClickHouseWriterConfig> = {}): ClickHouseWriterConfig {
  return loadWriterConfig(undefined, {
    overrides: {
      nats_url: nats.url,
      clickhouse_url: env.engineConfig.clickhouse_url,
      clickhouse_user: env.engineConfig.clickhouse_user ?? 'default',
      clickhouse_password: env.engineConfig.clickhouse_password ?? '',
      clickhouse_data_dir: env.engineConfig.clickhouse_data_dir ?? '',
      clickhouse_database: database,
      metrics_listen_addr: '',
      batch_wait: 200,
      ack_wait: 3000,
      ...overrides,
    },
  });
}

export async function startWriter(cfg: ClickHouseWriterConfig): Promise<ClickHouseWriterService> {
  const svc = new ClickHouseWriterService(cfg, log, createRegistry('clickhouse-writer'));
  await svc.start();
  return svc;
}

export interface Nats { server: NatsServer; nc: NatsConnection; close(): Promise<void> }

export async function startNats(): Promise<Nats> {
  const server = await startNatsServer();
  const nc = await connect({ servers: server.url });
  return { server, nc, async close() { await nc.close(); await server.destroy(); } };
}

/** Publishes each batch as one NETFLOW message; returns the stream sequences. */
export async function publish(nc: NatsConnection, batches: FlowRecord[][], collectorId = 'test-checker'): Promise<number[]> {
  const js = nc.jetstream();
  const seqs: number[] = [];
  for (const records of batches) seqs.push((await js.publish(SUBJECT, encodeBatch({ records, collector_id: collectorId }))).seq);
  return seqs;
}

/** Splits records into messages of `size`. */
export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Rows of the flows table (marker rows excluded). */
export async function flowCount(engine: ClickHouseEngine, database: string): Promise<number> {
  const rows = await engine.query<{ n: string }>(`SELECT count() AS n FROM ${database}.flows WHERE ingest_seq = 0`);
  return Number(rows[0]!.n);
}

export async function waitForFlows(engine: ClickHouseEngine, database: string, n: number, timeoutMs = 60_000): Promise<void> {
  await waitFor(`${n} flows in ${database}.flows`, async () => (await flowCount(engine, database)) >= n, timeoutMs, 200);
}

/** Everything the writer's consumer was given is acknowledged. */
export async function waitForConsumerDrained(nc: NatsConnection, durable: string, timeoutMs = 120_000): Promise<void> {
  const jsm = await nc.jetstreamManager();
  await waitFor(`consumer ${durable} to ack everything`, async () => {
    const info = await jsm.consumers.info(STREAM, durable);
    return info.num_pending === 0 && info.num_ack_pending === 0;
  }, timeoutMs, 250);
}

// ---------------------------------------------------------------------------
// Flows

// Deterministic (rng), so a failing run can be replayed.
export { rng };

// Addresses whose bytes include TAB (9), LF (10) and backslash (92), which a
// TSV payload has to escape, beside ordinary ones and IPv6.
export const ADDRESSES = ['10.9.10.92', '192.0.2.10', '9.10.92.0', '198.51.100.255', '2001:db8:90a::5c5c', '2001:db8::1', 'fe80::a09:5c0a', '::ffff:203.0.113.9', '::'];

/**
 * `n` records with every field set and varied: both IP versions, escaped
 * bytes, counters up to 2^40, sampling rates, absent next hops and times, and
 * timestamps around `baseMs`. `input_if` is the record's index, a unique key.
 */
export function makeFlows(n: number, opts: { seed?: number; baseMs?: number; spreadMs?: number } = {}): FlowRecord[] {
  const rand = rng(opts.seed ?? 1);
  const base = opts.baseMs ?? Date.now();
  const spread = opts.spreadMs ?? 60_000;
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const out: FlowRecord[] = [];
  for (let i = 0; i < n; i++) {
    const r = emptyRecord();
    r.timestamp = base - Math.floor(rand() * spread);
    r.src_ip = pick(ADDRESSES);
    r.dst_ip = pick(ADDRESSES);
    r.src_port = Math.floor(rand() * 65536);
    r.dst_port = pick([0, 22, 53, 443, 8080, 65535]);
    r.protocol = pick([1, 6, 17, 58, 255]);
    r.bytes = rand() < 0.05 ? 2 ** 40 + i : 40 + Math.floor(rand() * 1_000_000);
    r.packets = 1 + Math.floor(rand() * 1000);
    r.exporter = pick(['192.0.2.1', '192.0.2.2', '2001:db8:ffff::1']);
    r.source_id = pick([0, 1, 256, 4_294_967_295]);
    r.input_if = i;
    r.output_if = pick([0, 1, 2, 4_294_967_295]);
    r.tcp_flags = r.protocol === 6 ? pick([0x02, 0x12, 0x1b, 0x1ff]) : 0;
    r.tos = pick([0, 0xb8, 255]);
    r.src_as = pick([0, 64512, 4_200_000_000]);
    r.dst_as = pick([0, 15169, 4_294_967_295]);
    r.src_mask = pick([0, 24, 32, 64, 128]);
    r.dst_mask = pick([0, 16, 48]);
    r.next_hop = pick(['', '10.255.0.1', '2001:db8::fe']);
    r.sampling_rate = pick([1, 1, 100, 4096]);
    r.flow_start = rand() < 0.1 ? 0 : r.timestamp - Math.floor(rand() * 120_000);
    r.ip_version = r.src_ip.includes(':') ? 6 : 4;
    r.flow_version = pick([5, 9]);
    r.time_received = rand() < 0.1 ? 0 : r.timestamp + Math.floor(rand() * 5000);
    out.push(r);
  }
  return out;
}

export interface Totals { flows: number; bytes: bigint; packets: bigint; scaledBytes: bigint; scaledPackets: bigint }

/** Sums worked out from the records sent, in BigInt (scaled sums pass 2^53). */
export function totals(records: readonly FlowRecord[]): Totals {
  const t: Totals = { flows: 0, bytes: 0n, packets: 0n, scaledBytes: 0n, scaledPackets: 0n };
  for (const r of records) {
    t.flows++;
    t.bytes += BigInt(r.bytes);
    t.packets += BigInt(r.packets);
    t.scaledBytes += BigInt(r.bytes) * BigInt(r.sampling_rate);
    t.scaledPackets += BigInt(r.packets) * BigInt(r.sampling_rate);
  }
  return t;
}

/** The same sums as one table holds them (`flows` column in rollups, count() in the raw table). */
export async function tableTotals(engine: ClickHouseEngine, database: string, table: string): Promise<Totals> {
  const flows = table === 'flows' ? 'count()' : 'sum(flows)';
  const [row] = await engine.query<Record<string, string>>(
    `SELECT ${flows} AS f, sum(bytes) AS b, sum(packets) AS p, sum(bytes * sampling_rate) AS sb, sum(packets * sampling_rate) AS sp
FROM ${database}.${table} WHERE ingest_seq = 0`);
  return { flows: Number(row!.f), bytes: BigInt(row!.b!), packets: BigInt(row!.p!), scaledBytes: BigInt(row!.sb!), scaledPackets: BigInt(row!.sp!) };
}

export const DATA_TABLE_NAMES = ['flows', 'flows_1m_interfaces', 'flows_1m_src_ports', 'flows_1m_dst_hosts', 'flows_1m_src_hosts', 'flows_1m_dst_ports'] as const;
