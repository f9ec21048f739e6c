// The whole pipeline for the browser tests and bench/ui.ts, as it runs on one
// host: nats-server, the checker (its own process, UDP in), the parquet writer
// (its own process, a filesystem Iceberg table), and the ClickHouse writer
// with the core-extension in this process (they share the embedded chDB, which
// allows one process per data folder), serving the built UI. Traffic comes
// from softflowd exporting a packet capture as NetFlow v9 to the checker.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../common/log.js';
import { createRegistry } from '../../common/metrics.js';
import { loadWriterConfig } from '../../consumers/clickhouse/config.js';
import { ClickHouseWriterService } from '../../consumers/clickhouse/service.js';
import { hashPassword, hashToken } from '../../core-extension/api/auth.js';
import { loadCoreConfig, type CoreConfig } from '../../core-extension/config.js';
import { CoreService } from '../../core-extension/service.js';
import type { FlowResponse } from '../../core-extension/ui/lib/api-types.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { freePort, spawnPeer, tempDir, waitFor, type Peer } from '../helpers/process.js';
import { capture, type Conversation } from './traffic.js';

export const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');
export const UI_DIR = join(ROOT, 'core-extension', 'ui', 'out');

export const USER = { username: 'netadmin', password: 'flows are forever 2055' };
const TOKEN = 'ui-test-token-5f0c1d2e3a4b5c6d7e8f90a1b2c3d4e5';

export interface Stack {
  baseUrl: string;
  user: typeof USER;
  /** GET an /api/netflow route with the machine token, as a second client beside the browser. */
  api(path: string, params: URLSearchParams | string): Promise<FlowResponse>;
  /** Exports a capture of the conversations (packets spread over [startMs, startMs + spanMs)) to the checker with softflowd. */
  send(convs: readonly Conversation[], startMs: number, spanMs: number): Promise<void>;
  /** The tail of the checker's and the parquet writer's output and the checker's counters, for failure messages. */
  logs(): Promise<string>;
  /** Throws when the checker or the parquet writer has exited. */
  assertRunning(): void;
  stop(): Promise<void>;
}

const log = createLogger('ui-stack', process.env.LOG_LEVEL ?? 'silent');

export async function startStack(opts: { realtimeThreshold?: string; sessionTtl?: string } = {}): Promise<Stack> {
  const dir = tempDir('ui-stack');
  const chdb = join(dir.path, 'chdb');
  const iceberg = join(dir.path, 'iceberg');
  const peers: Peer[] = [];
  let nats: NatsServer | undefined;
  let writer: ClickHouseWriterService | undefined;
  let core: CoreService | undefined;
  const stop = async () => {
    await core?.stop().catch(() => undefined);
    await writer?.stop().catch(() => undefined);
    for (const p of peers.reverse()) await p.kill();
    await nats?.destroy();
    dir.remove();
  };
  try {
    nats = await startNatsServer();
    const udpPort = await freePort();
    const security = { mode: 'none' };
    const checkerMetrics = await freePort();
    const checkerCfg = join(dir.path, 'checker.json');
    writeFileSync(checkerCfg, JSON.stringify({
      listen_addr: `127.0.0.1:${udpPort}`, nats_url: nats.url, security, grpc_listen_addr: `127.0.0.1:${await freePort()}`,
      metrics_listen_addr: `127.0.0.1:${checkerMetrics}`, collector_id: 'ui-test', batch_linger_ms: '50ms',
    }));
    const parquetCfg = join(dir.path, 'parquet.json');
    writeFileSync(parquetCfg, JSON.stringify({
      nats_url: nats.url, security, output_path: iceberg, batch_interval: '1s', ack_wait: '60s', metrics_listen_addr: '',
    }));
    const checker = spawnPeer(process.execPath, [CLI, 'checker', '--config', checkerCfg]);
    peers.push(checker);
    const parquet = spawnPeer(process.execPath, [CLI, 'parquet-writer', '--config', parquetCfg]);
    peers.push(parquet);

    const writerRegistry = createRegistry('ui-clickhouse-writer');
    writer = new ClickHouseWriterService(loadWriterConfig(undefined, {
      overrides: { nats_url: nats.url, security, clickhouse_data_dir: chdb, batch_wait: 200, metrics_listen_addr: '' } as never,
    }), log, writerRegistry);
    await writer.start();

    const coreCfg: CoreConfig = loadCoreConfig(undefined, {
      netflow: { nats_url: nats.url, clickhouse_data_dir: chdb, iceberg_path: iceberg, ...(opts.realtimeThreshold ? { realtime_threshold: opts.realtimeThreshold } : {}) },
      http: { listen_addr: '127.0.0.1:0', ui_dir: UI_DIR, ...(opts.sessionTtl ? { session_ttl: opts.sessionTtl } : {}) },
      grpc: { listen_addr: '127.0.0.1:0' },
      security,
      users: [{ username: USER.username, password_hash: await hashPassword(USER.password) }],
      api_tokens: [{ name: 'ui-test', token_hash: hashToken(TOKEN) }],
    } as never);
    core = new CoreService(coreCfg, log);
    await core.start();
    const baseUrl = `http://127.0.0.1:${core.httpPort}`;
    // Datagrams sent before the checker's socket is bound are lost, as on a real network.
    const ready = (p: Peer, name: string, line: string) => waitFor(`${name}: ${line}`, () => {
      if (p.proc.exitCode !== null) throw new Error(`${name} exited: ${p.output().slice(-2000)}`);
      return p.output().includes(line);
    }, 30_000);
    await ready(checker, 'checker', '"msg":"netflow udp listening"');
    await ready(checker, 'checker', '"msg":"connected to nats"');
    await ready(parquet, 'parquet-writer', '"msg":"consuming"');

    const api = async (path: string, params: URLSearchParams | string): Promise<FlowResponse> => {
      const res = await fetch(`${baseUrl}${path}?${params}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      if (!res.ok) throw new Error(`${path}?${params}: HTTP ${res.status} ${await res.text()}`);
      return (await res.json()) as FlowResponse;
    };

    const send = async (convs: readonly Conversation[], startMs: number, spanMs: number) => {
      const pcap = join(dir.path, `capture-${startMs}.pcap`);
      writeFileSync(pcap, capture(convs, startMs, spanMs));
      await run('softflowd', ['-r', pcap, '-n', `127.0.0.1:${udpPort}`, '-v', '9']);
    };

    const logs = async () => {
      const counters = await fetch(`http://127.0.0.1:${checkerMetrics}/metrics`).then((r) => r.text(), (e: Error) => e.message);
      const nonZero = (text: string) => text.split('\n').filter((l) => l.startsWith('netflow_') && !l.endsWith(' 0')).join('\n');
      return `--- checker\n${checker.output().slice(-4000)}\n${nonZero(counters)}\n--- clickhouse-writer\n${nonZero(await writerRegistry.metrics())}` +
        `\n--- parquet-writer\n${parquet.output().slice(-4000)}`;
    };
    const assertRunning = () => {
      for (const [name, p] of [['checker', checker], ['parquet-writer', parquet]] as const) {
        if (p.proc.exitCode !== null || p.proc.signalCode !== null) throw new Error(`${name} exited (${p.proc.exitCode ?? p.proc.signalCode})`);
      }
    };
    return { baseUrl, user: USER, api, send, logs, assertRunning, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    p.once('error', reject);
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${err.slice(-2000)}`))));
  });
}

/** Waits until each route answers `bytes` in total for its parameters (the tiers have caught up). */
export async function waitForBytes(stack: Stack, checks: readonly { path: string; params: string; bytes: number }[], timeoutMs = 90_000): Promise<void> {
  try {
    for (const c of checks) {
      await waitFor(`${c.bytes} bytes from ${c.path}?${c.params}`, async () => {
        stack.assertRunning();
        const r = await stack.api(c.path, c.params);
        return r.results.reduce((s, row) => s + Number(row.bytes), 0) === c.bytes;
      }, timeoutMs, 250);
    }
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${await stack.logs()}`);
  }
}
