// The cold tier's speed and size:
//  1. stream -> committed snapshot: flows pre-published to a real nats-server
//     (1000-record FlowBatch messages, as the checker sends), drained by the
//     parquet-writer service into an Iceberg table; rows/s until the last
//     snapshot is committed (decode, Parquet, manifests, commit, ack);
//  2. the stages alone (decode, prepare, Parquet), and bytes per
//     row by column for realistic flows (test/helpers/iceberg-flows.ts), for
//     the batch files and after compaction;
//  3. what a day costs on disk at 1,000 and 100,000 flows/s.
//
//   npm run build && node dist/bench/iceberg.js [--rows N] [--batch N] [--only parquet|stream]
//
// The machine is small and shared (2 cores): the figures are indicative.
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { connect } from 'nats';
import { decodeFlowColumns, encodeBatch, type FlowColumns, type FlowRecord } from '../common/flow.js';
import { createLogger } from '../common/log.js';
import { FsCatalog } from '../consumers/iceberg/catalog-fs.js';
import { Interner, prepareFlows, type PreparedFlows } from '../consumers/iceberg/columns.js';
import { loadParquetWriterConfig } from '../consumers/iceberg/config.js';
import type { DataFile } from '../consumers/iceberg/manifest.js';
import { ParquetWriter } from '../consumers/iceberg/parquet.js';
import { COLUMNS } from '../consumers/iceberg/schema.js';
import { ParquetWriterService } from '../consumers/iceberg/service.js';
import { loadTable } from '../consumers/iceberg/table.js';
import { makeFlows } from '../test/helpers/iceberg-flows.js';
import { publishFlows, writeConfig } from '../test/helpers/iceberg-writer.js';
import { startNatsServer } from '../test/helpers/nats-server.js';
import { tempDir, waitFor } from '../test/helpers/process.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '2000000' }, batch: { type: 'string', default: '200000' }, only: { type: 'string' } } });
const ROWS = Number(values.rows);
const BATCH = Number(values.batch);
const log = createLogger('bench', 'warn');
const DAY = 86_400_000;

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/**
 * Bytes per row no column-by-column encoding can beat for i.i.d. rows: the
 * sum of each column's empirical entropy, with the times taken as what is
 * new in them (gap to the previous flow, duration, export delay).
 */
async function entropyFloor(files: string[]): Promise<number> {
  const con = await (await DuckDBInstance.create(':memory:')).connect();
  try {
    const plain = COLUMNS.filter((c) => c.type !== 'timestamptz').map((c) => `entropy("${c.name}")`);
    const times = ['entropy(gap)', 'entropy(duration)', 'entropy(delay)'];
    const src = `read_parquet([${files.map((f) => `'${f.replace(/'/g, "''")}'`).join(', ')}])`;
    const row = (await con.runAndReadAll(`SELECT ${[...plain, ...times].join(', ')} FROM (SELECT *, epoch_ms(timestamp) - lag(epoch_ms(timestamp)) OVER (ORDER BY timestamp) AS gap, epoch_ms(timestamp) - epoch_ms(flow_start) AS duration, epoch_ms(time_received) - epoch_ms(timestamp) AS delay FROM ${src})`)).getRows()[0]!;
    return row.reduce<number>((n, v) => n + Number(v), 0) / 8;
  } finally {
    con.closeSync();
  }
}

/** CPU seconds of this process (every thread: JavaScript and DuckDB's) since `from`. */
function cpuSeconds(from: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1e6;
}

async function streamToSnapshot(rows: number): Promise<{ rowsPerSecond: number; rowsPerCpuSecond: number; seconds: number; snapshots: number; bytes: number }> {
  const nats = await startNatsServer();
  const dir = tempDir('bench-iceberg');
  try {
    const nc = await connect({ servers: nats.url });
    const root = join(dir.path, 'netflow');
    const cfg = loadParquetWriterConfig(writeConfig(dir.path, 'writer', { nats_url: nats.url, output_path: root, batch_size: BATCH, batch_interval: '2s', ack_wait: '2m', stream: { max_bytes: 4 * 1024 ** 3 } }), { required: true });
    // The stream exists before publishing; the writer starts on a full backlog.
    const warm = new ParquetWriterService(cfg, log);
    await warm.start();
    await warm.stop();
    // Generated and published in slices, and not kept: a million records held
    // by the benchmark would tax the writer's garbage collector.
    for (let i = 0; i < rows; i += 100_000) await publishFlows(nc.jetstream(), flows(Math.min(100_000, rows - i), i), 1000);
    const service = new ParquetWriterService(cfg, log);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await service.start();
    const catalog = new FsCatalog(root);
    await waitFor('all committed', async () => Number((await loadTable(catalog)).currentSnapshot?.summary['total-records'] ?? 0) >= rows, 3_600_000, 50);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(cpu0);
    await service.stop();
    await nc.close();
    const table = await loadTable(catalog);
    return { rowsPerSecond: rows / seconds, rowsPerCpuSecond: rows / cpu, seconds, snapshots: table.snapshots.length, bytes: Number(table.currentSnapshot!.summary['total-files-size']) };
  } finally {
    await nats.destroy();
    dir.remove();
  }
}

async function parquetAlone(records: FlowRecord[]): Promise<void> {
  const dir = tempDir('bench-parquet');
  const parquet = await ParquetWriter.open();
  try {
    // The writer's stages one by one, on 1000-record messages as the checker
    // publishes them: decode (the pull loop), prepare (checks, strings
    // interned), then per batch the Parquet files (stage, COPY, statistics).
    const payloads: Uint8Array[] = [];
    for (let i = 0; i < records.length; i += 1000) payloads.push(encodeBatch({ records: records.slice(i, i + 1000), collector_id: 'bench' }));
    const stage = (name: string, run: () => Promise<void> | void) => async () => {
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      await run();
      const cpu = cpuSeconds(cpu0);
      const wall = (performance.now() - t0) / 1000;
      console.log(`  ${name}: ${fmt(records.length / wall)} rows/s wall, ${fmt(records.length / cpu)} rows per CPU second (${fmt((1e6 * cpu) / records.length, 2)} µs CPU/row)`);
    };
    let decoded: FlowColumns[] = [];
    let prepared: PreparedFlows[] = [];
    const interner = new Interner();
    const files: DataFile[] = [];
    await stage('decode FlowBatch to columns', () => { decoded = payloads.map((p) => decodeFlowColumns(p)); })();
    await stage('prepare (check values, intern strings)', () => { prepared = decoded.map((f) => prepareFlows(f, interner)); })();
    const perBatch = Math.max(1, Math.round(BATCH / 1000));
    await stage('Parquet (stage in time order, COPY with zstd, statistics)', async () => {
      for (let i = 0; i < prepared.length; i += perBatch) {
        files.push(...await parquet.writeBatch(prepared.slice(i, i + perBatch), (day) => join(dir.path, 'netflow', 'data', `d=${day}`, `${i}.parquet`)));
      }
    })();
    const bytes = files.reduce((n, f) => n + f.fileSizeBytes, 0);
    console.log(`parquet: ${fmt(records.length)} rows in ${files.length} batch files, ${fmt(bytes / records.length, 2)} bytes/row`);
    const perColumn = COLUMNS.map((c) => [c.name, files.reduce((n, f) => n + (f.columnSizes.get(c.id) ?? 0), 0) / records.length] as const).sort((a, b) => b[1] - a[1]);
    console.log(`  bytes/row by column: ${perColumn.map(([n, b]) => `${n} ${fmt(b, 2)}`).join(', ')}`);
    const t0 = performance.now();
    const byDay = new Map<number, typeof files>();
    for (const f of files) byDay.set(f.partitionDay, [...(byDay.get(f.partitionDay) ?? []), f]);
    let compacted = 0;
    const outputs: string[] = [];
    for (const [day, fs] of byDay) {
      const out = await parquet.rewriteFiles(fs, join(dir.path, 'netflow', 'data', `d=${day}`, 'compacted.parquet'));
      compacted += out.fileSizeBytes;
      outputs.push(out.path);
    }
    console.log(`compacted: ${fmt(compacted / records.length, 2)} bytes/row (${fmt(records.length / ((performance.now() - t0) / 1000))} rows/s rewrite)`);
    console.log(`  floor for any columnar encoding of these flows (sum of per-column entropies; times as deltas): ${fmt(await entropyFloor(outputs), 2)} bytes/row`);
    const perDay = (rate: number, bpr: number) => (rate * 86_400 * bpr) / 1e9;
    const bpr = compacted / records.length;
    console.log(`a day on disk: ${fmt(perDay(1000, bpr), 2)} GB at 1,000 flows/s (86.4M flows), ${fmt(perDay(100_000, bpr), 1)} GB at 100,000 flows/s (8.64G flows); 90 days: ${fmt(perDay(1000, bpr) * 90, 0)} GB and ${fmt(perDay(100_000, bpr) * 90 / 1000, 1)} TB`);
  } finally {
    parquet.close();
    dir.remove();
  }
}

/** `n` realistic flows, the `offset`-th onwards of one steady 5,000 flows/s stream. */
function flows(n: number, offset = 0): FlowRecord[] {
  return makeFlows(n, { seed: 42 + offset, startMs: Math.floor(Date.now() / DAY - 3) * DAY + 3_600_000 + offset / 5, ratePerSecond: 5000 });
}

console.log(`${fmt(ROWS)} realistic flows, batches of ${fmt(BATCH)} records`);
if (values.only !== 'stream') await parquetAlone(flows(ROWS));
if (values.only !== 'parquet') {
  const e2e = await streamToSnapshot(ROWS);
  console.log(`stream -> committed snapshot: ${fmt(e2e.rowsPerSecond)} rows/s wall, ${fmt(e2e.rowsPerCpuSecond)} rows per CPU second of the writer (${fmt(ROWS)} rows in ${fmt(e2e.seconds, 1)} s, ${e2e.snapshots} snapshots, ${fmt(e2e.bytes / ROWS, 2)} bytes/row in batch files; load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores)`);
}
