// serviceradar-netflow demo: the whole pipeline on embedded defaults in one
// process (embedded chDB allows one process per data folder, and the writer and
// the query side share it): a local nats-server, the checker on UDP 2055, both
// writers, the core-extension with the UI, and a built-in traffic source. The
// services are the same modules the packages run, configured through the same
// validated config loaders; only the composition is the demo's.
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect } from 'nats';
import { parseDuration } from '../common/config.js';
import { createLogger, type Logger } from '../common/log.js';
import { createRegistry } from '../common/metrics.js';
import { runUntilSignal, type Service } from '../common/service.js';
import { ensureStream } from '../common/stream.js';
import { loadCheckerConfig } from '../checker/config.js';
import { CheckerService } from '../checker/service.js';
import { loadWriterConfig } from '../consumers/clickhouse/config.js';
import { ClickHouseWriterService } from '../consumers/clickhouse/service.js';
import { loadParquetWriterConfig } from '../consumers/iceberg/config.js';
import { ParquetWriterService } from '../consumers/iceberg/service.js';
import { hashPassword } from '../core-extension/api/auth.js';
import { loadCoreConfig, type CoreConfig } from '../core-extension/config.js';
import { CoreService } from '../core-extension/service.js';
import { backfill } from './backfill.js';
import { reapOrphanNats, startLocalNats, type LocalNats } from './nats-server.js';
import { replayCaptures } from './replay.js';
import { SyntheticExporter } from './synthetic.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const USAGE = `usage: serviceradar-netflow demo [options]

Runs every service on embedded defaults with a built-in traffic source, and
prints the dashboard URL and login. Ctrl-C stops everything; a second start
reuses the data folder.

  --data DIR            data folder (default ./demo-data)
  --host ADDR           address the dashboard and UDP listener bind (default 127.0.0.1;
                        0.0.0.0 to let a real router on the network reach port 2055)
  --udp-port N          NetFlow listener (default 2055)
  --http-port N         dashboard and /api/netflow (default 8090)
  --grpc-port N         core-extension gRPC, the poller's check (default 50052)
  --checker-grpc-port N checker gRPC, the agent's check (default 50084)
  --nats-port N         the local nats-server (default 14222)
  --traffic SOURCES     all (default), replay (the bundled router captures, once
                        at start), synthetic (a v9 exporter of realistic traffic),
                        or none (only what routers send)
  --rate N              synthetic flows per second at the daily peak (default 300)
  --backfill-days N     days of history to backfill once (default 30)
  --no-backfill         no history
  --cold-interval DUR   longest the cold tier batches before a commit (default 1m)`;

interface DemoOptions {
  data: string; host: string; udpPort: number; httpPort: number; grpcPort: number; checkerGrpcPort: number;
  natsPort: number; rate: number; backfillDays: number; replay: boolean; synthetic: boolean; history: boolean; coldIntervalMs: number;
}

function parse(argv: string[]): DemoOptions | string {
  const { values } = parseArgs({
    args: argv, strict: true,
    options: {
      data: { type: 'string' }, host: { type: 'string' }, 'udp-port': { type: 'string' }, 'http-port': { type: 'string' },
      'grpc-port': { type: 'string' }, 'checker-grpc-port': { type: 'string' }, 'nats-port': { type: 'string' },
      rate: { type: 'string' }, 'backfill-days': { type: 'string' }, traffic: { type: 'string' }, 'no-backfill': { type: 'boolean' },
      'cold-interval': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return USAGE;
  const int = (name: string, value: string | undefined, dflt: number, max: number): number => {
    if (value === undefined) return dflt;
    if (!/^\d+$/.test(value) || Number(value) > max) throw new Error(`--${name}: must be a whole number from 0 to ${max}`);
    return Number(value);
  };
  const traffic = values.traffic ?? 'all';
  if (!['all', 'replay', 'synthetic', 'none'].includes(traffic)) throw new Error('--traffic: must be all, replay, synthetic or none');
  let coldIntervalMs = 60_000;
  if (values['cold-interval'] !== undefined) {
    try { coldIntervalMs = parseDuration(values['cold-interval']); } catch (err) { throw new Error(`--cold-interval: ${(err as Error).message}`); }
  }
  return {
    data: resolve(values.data ?? 'demo-data'),
    host: values.host ?? '127.0.0.1',
    udpPort: int('udp-port', values['udp-port'], 2055, 65535),
    httpPort: int('http-port', values['http-port'], 8090, 65535),
    grpcPort: int('grpc-port', values['grpc-port'], 50052, 65535),
    checkerGrpcPort: int('checker-grpc-port', values['checker-grpc-port'], 50084, 65535),
    natsPort: int('nats-port', values['nats-port'], 14222, 65535),
    rate: int('rate', values.rate, 300, 1_000_000),
    backfillDays: int('backfill-days', values['backfill-days'], 30, 365),
    replay: traffic === 'all' || traffic === 'replay',
    synthetic: traffic === 'all' || traffic === 'synthetic',
    history: !values['no-backfill'],
    coldIntervalMs,
  };
}

/** Fails with the port, what it is for and the option that changes it, before anything starts. */
async function checkPorts(o: DemoOptions): Promise<void> {
  const tcp: Array<[number, string, string]> = [
    [o.httpPort, 'dashboard HTTP', '--http-port'], [o.grpcPort, 'core-extension gRPC', '--grpc-port'],
    [o.checkerGrpcPort, 'checker gRPC', '--checker-grpc-port'], [o.natsPort, 'local nats-server', '--nats-port'],
  ];
  for (const [port, what, option] of tcp) {
    await new Promise<void>((ok, fail) => {
      const srv = createServer();
      srv.once('error', (err: NodeJS.ErrnoException) => fail(new Error(`port ${port} (${what}) is not available: ${err.code ?? err.message}; choose another with ${option}`)));
      srv.listen(port, port === o.natsPort ? '127.0.0.1' : o.host, () => srv.close(() => ok()));
    });
  }
  await new Promise<void>((ok, fail) => {
    const sock = createSocket(o.host.includes(':') ? 'udp6' : 'udp4');
    sock.once('error', (err: NodeJS.ErrnoException) => fail(new Error(`UDP port ${o.udpPort} (NetFlow listener) is not available: ${err.code ?? err.message}; choose another with --udp-port`)));
    sock.bind(o.udpPort, o.host, () => sock.close(() => ok()));
  });
}

/** The demo login: made once per data folder, kept beside the data, printed at every start. */
async function demoLogin(dataDir: string): Promise<{ username: string; password: string; password_hash: string }> {
  const file = join(dataDir, 'demo-login.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
  const login = { username: 'admin', password: randomBytes(9).toString('base64url') };
  const saved = { ...login, password_hash: await hashPassword(login.password) };
  writeFileSync(file, JSON.stringify(saved, null, 2));
  chmodSync(file, 0o600);
  return saved;
}

/** The local nats-server as a Service, so it starts first and stops last. */
function natsService(o: DemoOptions): Service {
  let nats: LocalNats | undefined;
  return {
    name: 'nats-server',
    async start() {
      nats = await startLocalNats({ host: '127.0.0.1', port: o.natsPort, dataDir: join(o.data, 'nats') });
    },
    async stop() { await nats?.stop(); },
  };
}

/**
 * The traffic sources: live ones first, so the dashboard shows traffic within
 * seconds; the history backfill then runs in the background (its backlog and
 * the live flows share the stream). The bundled captures and the history are
 * sent once per data folder, so a restart does not count them twice.
 */
function trafficSources(o: DemoOptions, natsUrl: string, log: Logger): Service[] {
  const services: Service[] = [];
  const target = { host: o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host, port: o.udpPort };
  if (o.replay) {
    const captures = join(ROOT, '..', 'shared', 'testdata', 'netflow');
    const marker = join(o.data, 'replay-done.json');
    services.push({
      name: 'capture-replay',
      async start() {
        if (existsSync(marker)) return;
        const files = ['nfv9-cisco-asr9k-one-source', 'nfv9-cisco-asr9k-two-source-ids'].map((d) => join(captures, d, 'traffic.pcap')).filter((f) => existsSync(f));
        if (!files.length) return;
        const sent = await replayCaptures(files, target, (i) => `127.0.0.${2 + i}`);
        writeFileSync(marker, JSON.stringify({ datagrams: sent, files, at: new Date().toISOString() }));
        log.info({ datagrams: sent, files }, 'replayed router captures with clocks moved to now');
      },
      async stop() {},
    });
  }
  if (o.synthetic) services.push(new SyntheticExporter({ target, source: '127.0.0.10', flowsPerSecond: o.rate }, log));
  if (o.history) {
    let running: Promise<unknown> | undefined;
    services.push({
      name: 'backfill',
      async start() {
        running = (async () => {
          const nc = await connect({ servers: natsUrl });
          try {
            // History as a 1:60-sampled export: a sixtieth of the live flow count, the same traffic once scaled.
            await backfill(nc.jetstream(), join(o.data, 'backfill-done.json'), {
              days: o.backfillDays, flowsPerHour: Math.max(600, (o.rate * 3600) / HISTORY_SAMPLING), samplingRate: HISTORY_SAMPLING,
              untilMs: Date.now() - 60_000, exporter: '127.0.0.10',
            }, log);
          } finally { await nc.close(); }
        })().catch((err) => log.error({ err: (err as Error).message }, 'history backfill failed; it runs again at the next start'));
      },
      async stop() { await running; },
    });
  }
  return services;
}

const HISTORY_SAMPLING = 60;

export async function run(argv: string[]): Promise<number> {
  let o: DemoOptions;
  try {
    const parsed = parse(argv);
    if (typeof parsed === 'string') { console.log(parsed); return 0; }
    o = parsed;
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  await reapOrphanNats(join(o.data, 'nats'));
  await checkPorts(o);
  mkdirSync(o.data, { recursive: true });
  const log = createLogger('demo');
  const login = await demoLogin(o.data);
  const natsUrl = `nats://127.0.0.1:${o.natsPort}`;
  const bind = (port: number) => `${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`;
  const chDir = join(o.data, 'clickhouse');
  const icebergDir = join(o.data, 'iceberg', 'default', 'netflow');

  const checker = loadCheckerConfig(undefined, { overrides: {
    listen_addr: bind(o.udpPort), nats_url: natsUrl, grpc_listen_addr: `127.0.0.1:${o.checkerGrpcPort}`, metrics_listen_addr: '', collector_id: 'demo',
  } });
  const clickhouse = loadWriterConfig(undefined, { overrides: { nats_url: natsUrl, clickhouse_data_dir: chDir, metrics_listen_addr: '', batch_wait: 1000 } });
  const parquet = loadParquetWriterConfig(undefined, { overrides: {
    nats_url: natsUrl, output_path: icebergDir, metrics_listen_addr: '',
    // A minute, not the PRD's five, so a newcomer sees the cold tier fill while watching.
    batch_size: 50_000, batch_interval: o.coldIntervalMs,
  } });
  const core = loadCoreConfig(undefined, {
    netflow: { clickhouse_data_dir: chDir, iceberg_path: icebergDir, nats_url: natsUrl } as CoreConfig['netflow'],
    http: { listen_addr: bind(o.httpPort), ui_dir: join(ROOT, 'core-extension', 'ui', 'out') } as CoreConfig['http'],
    grpc: { listen_addr: `127.0.0.1:${o.grpcPort}` } as CoreConfig['grpc'],
    users: [{ username: login.username, password_hash: login.password_hash }],
  });

  const services: Service[] = [
    natsService(o),
    // The stream exists before anything publishes, whichever service would create it first.
    { name: 'stream', async start() { const nc = await connect({ servers: natsUrl }); try { await ensureStream(await nc.jetstreamManager(), checker.stream, log); } finally { await nc.close(); } }, async stop() {} },
    new ClickHouseWriterService(clickhouse, createLogger('clickhouse-writer'), createRegistry('clickhouse-writer')),
    new ParquetWriterService(parquet, createLogger('parquet-writer')),
    new CheckerService(checker, createLogger('checker')),
    new CoreService(core, createLogger('core-extension')),
    {
      name: 'banner',
      async start() {
        const host = o.host === '0.0.0.0' || o.host === '::' ? 'localhost' : o.host;
        console.log([
          '',
          `  Dashboard:  http://${host}:${o.httpPort}/`,
          `  Login:      ${login.username} / ${login.password}`,
          `  NetFlow:    point a router at UDP ${o.host}:${o.udpPort} (v5 or v9)`,
          `  Data:       ${o.data}`,
          '  Ctrl-C stops everything.',
          '',
        ].join('\n'));
      },
      async stop() {},
    },
    ...trafficSources(o, natsUrl, log),
  ];
  await runUntilSignal(services, log);
  return 0;
}
