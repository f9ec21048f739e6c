// The hot tier's speed and size:
//  1. stream -> queryable: realistic flows pre-published to a real nats-server
//     (1000-record FlowBatch messages, as the checker sends them), drained by
//     the clickhouse-writer service; rows/s from the writer's start until
//     count() in the flows table reaches them all (pull, decode, encode, INSERT
//     into the flows table and every rollup, ack). For each engine (embedded
//     chDB; a clickhouse-server 18.16 process configured with zstd) and each
//     batch size, so the best one shows beside the PRD's 10000.
//     Also the CPU time spent per row (this process, chDB inside it, and the
//     server process): steadier than wall time on a shared machine.
//  2. bytes per row on disk after OPTIMIZE FINAL, per table and per column.
//
//   npm run build && node dist/bench/clickhouse.js [--rows N] [--span 1h] [--batches 10000,50000,100000] [--engines chdb,server]
//
// Flows come from the demo's traffic model (demo/traffic.ts: 5,000 internal
// hosts with Zipf activity, 60,000 outside servers, an enterprise port mix,
// Pareto sizes), spread evenly over --span ending now. The
// machine is small and shared (2 cores): the figures are indicative.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { connect } from 'nats';
import { decodeFlowColumns, encodeBatch, type FlowRecord } from '../common/flow.js';
import { parseDuration } from '../common/config.js';
import { createLogger } from '../common/log.js';
import { createRegistry } from '../common/metrics.js';
import { CONSUMERS, ensureStream, STREAM, SUBJECT } from '../common/stream.js';
import { loadWriterConfig } from '../consumers/clickhouse/config.js';
import { openEngine, type ClickHouseEngine, type EngineConfig } from '../consumers/clickhouse/engine.js';
import { encodeMessage } from '../consumers/clickhouse/rows.js';
import { DATA_TABLES, INGEST_TABLE, PAYLOAD_COLUMNS, RAW, ROLLUPS, tableRef } from '../consumers/clickhouse/schema.js';
import { ClickHouseWriterService } from '../consumers/clickhouse/service.js';
import { startClickHouseServer, type ClickHouseServer } from '../test/helpers/clickhouse-server.js';
import { startNatsServer } from '../test/helpers/nats-server.js';
import { tempDir, waitFor } from '../test/helpers/process.js';
import { rng, trafficModel } from '../demo/traffic.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    span: { type: 'string', default: '1h' },
    batches: { type: 'string', default: '10000,50000,100000' },
    engines: { type: 'string', default: 'chdb,server' },
  },
});
const ROWS = Number(values.rows);
const SPAN_MS = parseDuration(values.span!);
const BATCHES = values.batches!.split(',').map(Number);
const ENGINES = values.engines!.split(',') as ('chdb' | 'server')[];
const MESSAGE = 1000;
const log = createLogger('bench-clickhouse', process.env.LOG_LEVEL ?? 'warn');

interface Run { engine: string; batch: number; seconds: number; rowsPerSecond: number; cpuMicrosPerRow: number }
interface Size { engine: string; table: string; rows: number; bytesPerRow: number; columns: string }
interface Stage { stage: string; rows: number; cpuMicrosPerRow: number }
/** Rows the per-stage profile takes from the start of the stream. */
const PROFILE_ROWS = 200_000;

async function main(): Promise<void> {
  const nats = await startNatsServer();
  const nc = await connect({ servers: nats.url });
  const jsm = await nc.jetstreamManager();
  await ensureStream(jsm, { max_bytes: 8 * 1024 ** 3, max_age_ms: 86_400_000, replicas: 1 }, log);
  const now = Date.now();
  let published = 0;
  const js = nc.jetstream();
  let records: FlowRecord[] = [];
  const sample: Uint8Array[] = [];
  const flush = async () => {
    const bytes = encodeBatch({ records, collector_id: 'bench' });
    if (published < PROFILE_ROWS) sample.push(bytes);
    await js.publish(SUBJECT, bytes);
    published += records.length;
    records = [];
  };
  const model = trafficModel({ seed: 17, internalHosts: 5000, externalHosts: 60_000 });
  const rand = rng(17);
  for (let i = 0; i < ROWS; i++) {
    const r = model.flow(now - SPAN_MS + Math.floor(((i + 0.5) * SPAN_MS) / ROWS));
    r.time_received = r.timestamp + Math.floor(rand() * 1500);
    records.push(r);
    if (records.length === MESSAGE) await flush();
  }
  if (records.length) await flush();
  console.log(`stream: ${published} flows in ${Math.ceil(published / MESSAGE)} messages over ${values.span}`);

  const runs: Run[] = [];
  const sizes: Size[] = [];
  const stages: Stage[] = [];
  const chdb = tempDir('bench-chdb');
  for (const kind of ENGINES) {
    const server = kind === 'server' ? await startClickHouseServer({ compression: 'zstd' }) : undefined;
    const engineConfig: EngineConfig = server
      ? { clickhouse_url: server.url, clickhouse_user: server.user, clickhouse_password: server.password }
      : { clickhouse_url: '', clickhouse_data_dir: chdb.path };
    const engine = await openEngine(engineConfig);
    const name = kind === 'chdb' ? `chDB ${engine.version}` : `server ${engine.version} (zstd)`;
    try {
      for (const batch of BATCHES) {
        const database = `bench_${kind}_${batch}`;
        await jsm.consumers.delete(STREAM, CONSUMERS.clickhouse).catch(() => undefined);
        const cfg = loadWriterConfig(undefined, {
          overrides: {
            ...configOf(engineConfig, server), nats_url: nats.url, clickhouse_database: database, batch_size: batch,
            batch_wait: 2000, metrics_listen_addr: '', retention: 7 * 86_400_000,
          },
        });
        const svc = new ClickHouseWriterService(cfg, log, createRegistry('bench'));
        await svc.start();
        const started = Date.now();
        const cpu0 = cpuSeconds(server?.pid());
        await waitFor(`${published} rows in ${database}`, async () => (await flowCount(engine, database)) >= published, 1_800_000, 50);
        const seconds = (Date.now() - started) / 1000;
        const cpuMicrosPerRow = ((cpuSeconds(server?.pid()) - cpu0) * 1e6) / published;
        await svc.stop();
        runs.push({ engine: name, batch, seconds, rowsPerSecond: Math.round(published / seconds), cpuMicrosPerRow });
        console.log(`${name}: batch ${batch}: ${published} rows queryable in ${seconds.toFixed(2)} s = ${Math.round(published / seconds)} rows/s, ${cpuMicrosPerRow.toFixed(1)} CPU µs/row`);
      }
      sizes.push(...await measureSizes(engine, `bench_${kind}_${BATCHES[0]}`, name));
      if (kind === 'chdb') stages.push(...await profileStages(engine, `bench_${kind}_${BATCHES[0]}`, sample));
    } finally {
      await engine.close();
      await server?.destroy();
    }
  }
  chdb.remove();
  await nc.close();
  await nats.destroy();

  console.log('\nrows/s, stream -> queryable');
  for (const r of runs) console.log(`  ${r.engine.padEnd(28)} batch ${String(r.batch).padStart(7)}  ${String(r.rowsPerSecond).padStart(8)} rows/s  (${r.seconds.toFixed(2)} s, ${r.cpuMicrosPerRow.toFixed(1)} CPU µs/row)`);
  console.log('\nbytes per row on disk after OPTIMIZE FINAL');
  for (const s of sizes) console.log(`  ${s.engine.padEnd(28)} ${s.table.padEnd(22)} ${String(s.rows).padStart(9)} rows  ${s.bytesPerRow.toFixed(2).padStart(7)} B/row${s.columns ? `  (${s.columns})` : ''}`);
  if (stages.length) {
    console.log(`\nwhere the time goes in the writer's process (chDB), CPU µs per row over ${stages[0]!.rows} rows`);
    for (const s of stages) console.log(`  ${s.stage.padEnd(58)} ${s.cpuMicrosPerRow.toFixed(2).padStart(6)}`);
  }
  console.log(JSON.stringify({ rows: published, span: values.span, runs, sizes, stages }));
}

/**
 * CPU time (user + system, every thread) of this process (the writer, and
 * chDB inside it) plus the server's, if any: on a shared machine a steadier
 * figure than wall time.
 */
function cpuSeconds(serverPid: number | undefined): number {
  const own = process.resourceUsage();
  let total = (own.userCPUTime + own.systemCPUTime) / 1e6;
  if (serverPid) {
    // /proc/<pid>/stat fields 14 and 15: utime and stime in clock ticks (100 per second on Linux).
    const fields = readFileSync(`/proc/${serverPid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    total += (Number(fields[11]) + Number(fields[12])) / 100;
  }
  return total;
}

function configOf(e: EngineConfig, server: ClickHouseServer | undefined) {
  return server
    ? { clickhouse_url: e.clickhouse_url, clickhouse_user: server.user, clickhouse_password: server.password }
    : { clickhouse_url: '', clickhouse_data_dir: e.clickhouse_data_dir! };
}

async function flowCount(engine: ClickHouseEngine, database: string): Promise<number> {
  try {
    return Number((await engine.query<{ n: string }>(`SELECT count() AS n FROM ${database}.flows WHERE ingest_seq = 0`))[0]!.n);
  } catch {
    return 0; // not created yet
  }
}

/**
 * The writer's steps one at a time on the same messages, by this process's
 * CPU time (chDB runs inside it): decoding the stream messages, encoding the
 * TSV payload, and the engine parsing and storing it into the flows table
 * alone, into one rollup alone (through its feed table), and into the ingest
 * table that fills every table at once, as the writer does.
 */
async function profileStages(engine: ClickHouseEngine, database: string, messages: Uint8Array[]): Promise<Stage[]> {
  // CPU µs of one step, and what it made (so each step runs once and feeds the next).
  const timed = async <T>(run: () => T | Promise<T>): Promise<{ us: number; out: T }> => {
    const before = process.cpuUsage();
    const out = await run();
    const used = process.cpuUsage(before);
    return { us: used.user + used.system, out };
  };
  const decoded = await timed(() => messages.map(decodeFlowColumns));
  const columns = decoded.out;
  const rows = columns.reduce((n, c) => n + c.rows, 0);
  const encoded = await timed(() => columns.map(encodeMessage));
  const payload = Buffer.concat(encoded.out.flatMap((m) => m.chunks.map((k) => k.data)));
  const cpu = async (run: () => unknown): Promise<number> => (await timed(run)).us / rows;
  const decodeUs = decoded.us / rows;
  const encodeUs = encoded.us / rows;
  const insert = (table: string) => cpu(() => engine.insert(tableRef(database, table), { format: 'TabSeparated', columns: PAYLOAD_COLUMNS, data: payload }, { optimize_on_insert: 0 }));
  const flowsUs = await insert(RAW.name);
  const oneRollup = ROLLUPS.find((r) => r.name === 'flows_1m_src_hosts') ?? ROLLUPS[0]!;
  const rollupUs = await insert(oneRollup.feed);
  const ingestUs = await insert(INGEST_TABLE);
  return [
    { stage: 'decode stream messages (FlowBatch -> columns)', rows, cpuMicrosPerRow: decodeUs },
    { stage: 'encode the TSV payload', rows, cpuMicrosPerRow: encodeUs },
    { stage: `engine: parse + store into ${RAW.name} alone`, rows, cpuMicrosPerRow: flowsUs },
    { stage: `engine: parse + one rollup view alone (${oneRollup.name})`, rows, cpuMicrosPerRow: rollupUs },
    { stage: `engine: parse + ${RAW.name} + all ${ROLLUPS.length} rollups (the writer's insert)`, rows, cpuMicrosPerRow: ingestUs },
  ];
}

async function measureSizes(engine: ClickHouseEngine, database: string, name: string): Promise<Size[]> {
  const out: Size[] = [];
  const [raw] = await engine.query<{ n: string }>(`SELECT count() AS n FROM ${database}.flows WHERE ingest_seq = 0`);
  const flowsRows = Number(raw!.n);
  for (const table of DATA_TABLES) {
    await engine.exec(`OPTIMIZE TABLE ${database}.${table} FINAL`);
    const [p] = await engine.query<{ rows: string; bytes: string }>(`SELECT sum(rows) AS rows, sum(bytes_on_disk) AS bytes FROM system.parts WHERE database = '${database}' AND table = '${table}' AND active`);
    const cols = await engine.query<{ name: string; b: string }>(`SELECT name, data_compressed_bytes AS b FROM system.columns WHERE database = '${database}' AND table = '${table}' ORDER BY data_compressed_bytes DESC LIMIT 6`);
    // Per flow row, so the rollups read as what they add to the raw table.
    out.push({
      engine: name, table, rows: Number(p!.rows), bytesPerRow: Number(p!.bytes) / flowsRows,
      columns: table === 'flows' ? cols.map((c) => `${c.name} ${(Number(c.b) / flowsRows).toFixed(2)}`).join(', ') : `${(Number(p!.rows) / flowsRows * 100).toFixed(1)}% of the flow rows`,
    });
  }
  return out;
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
