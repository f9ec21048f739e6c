// The standard dataset of the query benchmark: realistic flows (the demo's
// traffic model: Zipf-active hosts, an enterprise port mix, Pareto flow sizes,
// a daily rhythm) written through the writers' own modules, once, into
// .cache/bench/:
//   hot-<rows>/      chDB: the ClickHouse writer's schema (raw table + minute rollups), the last 2 days
//   cold-<rows>/     the Iceberg table, one snapshot per batch, the last 30 days
//   nfcapd-<rows>/   the same 30 days as nfcapd files: sent as NetFlow v5 to Debian's nfcapd
// A folder is reused when its done.json says it is complete.
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { toColumns, type FlowRecord } from '../common/flow.js';
import { createLogger } from '../common/log.js';
import { createRegistry } from '../common/metrics.js';
import { openEngine } from '../consumers/clickhouse/engine.js';
import { migrate } from '../consumers/clickhouse/migrate.js';
import { encodeMessage } from '../consumers/clickhouse/rows.js';
import { INGEST_TABLE, PAYLOAD_COLUMNS, tableRef } from '../consumers/clickhouse/schema.js';
import { FsCatalog } from '../consumers/iceberg/catalog-fs.js';
import { ParquetWriter } from '../consumers/iceberg/parquet.js';
import { IcebergWriter } from '../consumers/iceberg/writer.js';
import type { V5Exporter } from '../demo/exporter/packets.js';
import { rng, trafficModel } from '../demo/traffic.js';

export const DAY = 86_400_000;
export const DATABASE = 'netflow';
const log = createLogger('bench-dataset', process.env.LOG_LEVEL ?? 'warn');

export interface Dataset { hotDir: string; coldDir: string; nfcapdDir: string; endMs: number; hotRows: number; coldRows: number }

/**
 * `rows` flows ending in [fromMs, toMs), in time order, in batches. Arrival
 * follows the model's daily rhythm; v5 limits (32-bit counters) apply to every
 * store alike so all three hold identical records.
 */
export function* flows(rows: number, fromMs: number, toMs: number, seed: number, batch = 100_000): Generator<FlowRecord[]> {
  const model = trafficModel({ seed, internalHosts: 5000, externalHosts: 60_000 });
  const rand = rng(seed ^ 0x5eed);
  // Times are drawn per batch slot: slots are equal spans of the range, with
  // as many flows as the rhythm gives them, so busy hours hold more flows.
  const slots = Math.ceil(rows / batch);
  const span = (toMs - fromMs) / slots;
  const weights = Array.from({ length: slots }, (_, i) => model.rhythm(fromMs + (i + 0.5) * span));
  const total = weights.reduce((a, b) => a + b, 0);
  let made = 0;
  for (let i = 0; i < slots && made < rows; i++) {
    const n = i === slots - 1 ? rows - made : Math.min(rows - made, Math.round((rows * weights[i]!) / total));
    const start = fromMs + i * span;
    const times = Array.from({ length: n }, () => Math.floor(start + rand() * span)).sort((a, b) => a - b);
    const out = times.map((t) => {
      const r = model.flow(t);
      if (r.bytes > 0xffffffff) r.bytes = 0xffffffff;
      if (r.packets > 0xffffffff) r.packets = 0xffffffff;
      if (r.flow_start < t - 3_600_000) r.flow_start = t - 3_600_000;
      return r;
    });
    made += n;
    if (out.length) yield out;
  }
}

// Beside the folder, not in it: nfdump reads every file of its folder.
function done(dir: string): boolean {
  return existsSync(`${dir}.done.json`);
}

function markDone(dir: string, info: Record<string, unknown>): void {
  writeFileSync(`${dir}.done.json`, JSON.stringify(info, null, 2));
}

/** Builds (or reuses) the dataset; `endMs` anchors it (rounded to the hour so reruns reuse it). */
export async function buildDataset(root: string, hotRows: number, coldRows: number, say: (s: string) => void): Promise<Dataset> {
  mkdirSync(root, { recursive: true });
  const hotDir = join(root, `hot-${hotRows}`), coldDir = join(root, `cold-${coldRows}`), nfcapdDir = join(root, `nfcapd-${coldRows}`);
  const anchorFile = join(root, 'anchor.json');
  // One end instant for every part, kept across runs.
  const endMs = existsSync(anchorFile) ? (JSON.parse(readFileSync(anchorFile, 'utf8')) as { endMs: number }).endMs : Math.floor(Date.now() / 3_600_000) * 3_600_000;
  writeFileSync(anchorFile, JSON.stringify({ endMs }));
  if (!done(hotDir)) await buildHot(hotDir, hotRows, endMs, say);
  else await migrateHot(hotDir);
  if (!done(coldDir) || !done(nfcapdDir)) await buildCold(coldDir, nfcapdDir, coldRows, endMs, say);
  return { hotDir, coldDir, nfcapdDir, endMs, hotRows, coldRows };
}

async function buildHot(dir: string, rows: number, endMs: number, say: (s: string) => void): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  rmSync(`${dir}.done.json`, { force: true });
  const started = Date.now();
  const engine = await openEngine({ clickhouse_url: '', clickhouse_data_dir: dir });
  try {
    await migrate(engine, DATABASE, 3 * DAY, log);
    let n = 0;
    for (const batch of flows(rows, endMs - 2 * DAY, endMs, 1, 250_000)) {
      for (const chunk of encodeMessage(toColumns({ records: batch, collector_id: 'bench' })).chunks) {
        await engine.insert(tableRef(DATABASE, INGEST_TABLE), { format: 'TabSeparated', columns: PAYLOAD_COLUMNS, data: chunk.data });
      }
      n += batch.length;
      if (n % 5_000_000 < batch.length) say(`hot tier: ${n.toLocaleString()} / ${rows.toLocaleString()} rows`);
    }
    await engine.exec(`OPTIMIZE TABLE ${tableRef(DATABASE, 'flows')} FINAL`).catch(() => undefined);
    markDone(dir, { rows, endMs, seconds: (Date.now() - started) / 1000 });
  } finally {
    await engine.close();
  }
}

/** A kept hot dataset is brought to the writer's current schema, as the writer does at start. */
async function migrateHot(dir: string): Promise<void> {
  const engine = await openEngine({ clickhouse_url: '', clickhouse_data_dir: dir });
  try { await migrate(engine, DATABASE, 3 * DAY, log); } finally { await engine.close(); }
}

async function buildCold(dir: string, nfDir: string, rows: number, endMs: number, say: (s: string) => void): Promise<void> {
  for (const d of [dir, nfDir]) { rmSync(d, { recursive: true, force: true }); rmSync(`${d}.done.json`, { force: true }); }
  mkdirSync(nfDir, { recursive: true });
  const started = Date.now();
  const parquet = await ParquetWriter.open({ threads: 2 });
  const writer = new IcebergWriter({ catalog: new FsCatalog(dir), parquet, log, registry: createRegistry('bench-iceberg'), source: 'bench' });
  const nfcapd = await startNfcapd(nfDir);
  const fromMs = endMs - 30 * DAY;
  // Loaded only when the nfcapd files are (re)built.
  const { V5Exporter: Exporter } = await import('../demo/exporter/packets.js');
  const exporter = new Exporter({ bootMs: fromMs - DAY });
  let seq = 1, n = 0;
  try {
    for (const batch of flows(rows, fromMs, endMs, 2, 1_000_000)) {
      const messages = [];
      for (let i = 0; i < batch.length; i += 10_000) messages.push({ seq: seq++, redelivered: false, flows: toColumns({ records: batch.slice(i, i + 10_000), collector_id: 'bench' }) });
      await writer.write(messages);
      await nfcapd.send(batch, exporter);
      n += batch.length;
      if (n % 5_000_000 < batch.length) say(`cold tier + nfcapd: ${n.toLocaleString()} / ${rows.toLocaleString()} rows`);
    }
  } finally {
    parquet.close();
    await nfcapd.stop();
  }
  const stored = nfcapdFlows(nfDir);
  markDone(dir, { rows, endMs, seconds: (Date.now() - started) / 1000 });
  markDone(nfDir, { rows, stored, lost: rows - stored });
  if (stored !== rows) say(`nfcapd stored ${stored.toLocaleString()} of ${rows.toLocaleString()} flows (UDP loss); the comparison says so`);
}

/** Flows nfdump counts in a folder of nfcapd files. */
export function nfcapdFlows(dir: string): number {
  const out = execFileSync('nfdump', ['-R', dir, '-I'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const m = /^Flows:\s*(\d+)/m.exec(out);
  return m ? Number(m[1]) : 0;
}

async function freeUdpPort(): Promise<number> {
  // A TCP probe is good enough to find a port nothing listens on for UDP here.
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}

/** Debian's nfcapd on loopback, and a paced v5 sender (UDP has no flow control: too fast loses datagrams). */
async function startNfcapd(dir: string) {
  const port = await freeUdpPort();
  const proc = spawn('nfcapd', ['-w', dir, '-b', '127.0.0.1', '-p', String(port), '-t', '3600', '-B', String(8 * 1024 * 1024)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
  await new Promise((r) => setTimeout(r, 800));
  if (proc.exitCode !== null) throw new Error(`nfcapd exited: ${err}`);
  const sock = createSocket('udp4');
  const sendOne = (b: Uint8Array) => new Promise<void>((resolve, reject) => sock.send(b, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  return {
    async send(batch: FlowRecord[], exporter: V5Exporter): Promise<void> {
      let burst = 0;
      for (let i = 0; i < batch.length; i += 30) {
        const chunk = batch.slice(i, i + 30);
        for (const p of exporter.packets(chunk, chunk[chunk.length - 1]!.timestamp)) await sendOne(p);
        // About 40,000 datagrams (1.2M flows) a second: what nfcapd keeps up with here without loss.
        if (++burst % 400 === 0) await new Promise((r) => setTimeout(r, 10));
      }
    },
    async stop(): Promise<void> {
      await new Promise((r) => setTimeout(r, 1500));
      sock.close();
      proc.kill('SIGTERM');
      await new Promise<void>((r) => (proc.exitCode !== null ? r() : proc.once('exit', () => r())));
    },
  };
}
