// The PRD's dashboard queries against the standard dataset (bench/dataset.ts),
// through the HTTP API of a core-extension running in this process, p50/p95
// per query and tier; and, side by side, nfdump answering the same top-N
// questions over the newest days of the same flows stored as nfcapd files
// (its answers are checked against ours, then timed; UDP to nfcapd is slow,
// so not all 30 days go there).
//
//   npm run build && node dist/bench/query.js [--hot-rows N] [--cold-rows N] [--runs N] [--nfdump-days N] [--data DIR] [--only dashboard|nfdump]
//
// The historical questions are asked twice: on the unified route the dashboards
// use (/api/netflow: Iceberg for closed days, ClickHouse for the open one) and
// forced onto Iceberg (/api/netflow/historical).
//
// The machine is shared and small (2 cores): the figures are indicative.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { hashToken } from '../core-extension/api/auth.js';
import { loadCoreConfig } from '../core-extension/config.js';
import { CoreService } from '../core-extension/service.js';
import { createLogger } from '../common/log.js';
import { buildDataset, DAY, type Dataset } from './dataset.js';

const TOKEN = 'bench-token-0123456789abcdef0123456789';

/** route: the API path after /api/netflow ('' is the unified route). */
interface Query { route: '/realtime' | '/historical' | ''; name: string; params: string }

function queries(d: Dataset, talker: string, coldTalker: string): Query[] {
  const hot = `start=${d.endMs - 2 * DAY}&end=${d.endMs}`;
  const cold = `start=${d.endMs - 30 * DAY}&end=${d.endMs}`;
  const historical = [
    { name: 'top 10 source IPs (30 days)', params: `${cold}&group_by=src_ip&limit=10` },
    { name: 'top 5 destination ports (30 days)', params: `${cold}&group_by=dst_port&limit=5` },
    { name: 'traffic over time, bits/s (30 days)', params: `${cold}&group_by=time&metric=bps` },
    { name: 'monthly trend by protocol (30 days)', params: `${cold}&group_by=time,protocol&interval=month&limit=5` },
    { name: "one IP's history (30 days, daily)", params: `${cold}&group_by=time&interval=1d&filter=ip=${coldTalker}` },
  ];
  return [
    { route: '/realtime', name: 'top 10 source IPs (2 days)', params: `${hot}&group_by=src_ip&limit=10` },
    { route: '/realtime', name: 'top 5 destination ports (2 days)', params: `${hot}&group_by=dst_port&limit=5` },
    { route: '/realtime', name: 'traffic over time, bits/s (2 days)', params: `${hot}&group_by=time&metric=bps` },
    { route: '/realtime', name: 'top talkers over time (last 1 h, 1 min)', params: `start=${d.endMs - 3_600_000}&end=${d.endMs}&group_by=src_ip,time&interval=1m&limit=5` },
    { route: '/realtime', name: "one IP's history (2 days)", params: `${hot}&group_by=time&filter=ip=${talker}` },
    ...historical.map((q) => ({ ...q, route: '' as const })),
    ...historical.map((q) => ({ ...q, route: '/historical' as const })),
  ];
}

/**
 * One API request, its wall time, and the CPU time this process spent on it:
 * the HTTP server, the planner, chDB and DuckDB all run in this process, so on
 * a shared machine CPU time is the figure other load disturbs least.
 */
async function get(port: number, path: string): Promise<{ ms: number; cpuMs: number; body: any }> {
  const t = performance.now();
  const cpu = process.cpuUsage();
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const body = await res.json();
  const used = process.cpuUsage(cpu);
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
  return { ms: performance.now() - t, cpuMs: (used.user + used.system) / 1000, body };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

/** CPU time (ms) of this process's finished children, from /proc (Linux). */
function childCpuMs(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  // cutime and cstime are fields 16 and 17 of stat, in clock ticks (100 a second).
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

/** nfdump run as a child without blocking the event loop (the in-process core keeps serving and its keep-alive connections stay open). */
async function nfdump(args: string[]): Promise<{ ms: number; cpuMs: number; out: string }> {
  const t = performance.now();
  const cpu = childCpuMs();
  const { stdout } = await promisify(execFile)('nfdump', args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return { ms: performance.now() - t, cpuMs: childCpuMs() - cpu, out: stdout };
}

/** "ip,bytes" pairs of an nfdump -s ... -o csv statistic. */
function nfdumpTop(out: string, keyColumn: string): { key: string; bytes: number }[] {
  const lines = out.trim().split('\n').filter((l) => l && !l.startsWith('Summary') && !/^\s*$/.test(l));
  const header = lines.findIndex((l) => l.startsWith('ts,'));
  if (header < 0) return [];
  const cols = lines[header]!.split(',');
  const k = cols.indexOf(keyColumn), b = cols.indexOf('byt');
  const rows: { key: string; bytes: number }[] = [];
  for (const l of lines.slice(header + 1)) {
    const v = l.split(',');
    if (v.length !== cols.length) break;
    rows.push({ key: v[k]!, bytes: Number(v[b]) });
  }
  return rows;
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { 'hot-rows': { type: 'string' }, 'cold-rows': { type: 'string' }, runs: { type: 'string' }, data: { type: 'string' }, 'nfdump-days': { type: 'string' }, only: { type: 'string' } } });
  const only = values.only ?? '';
  if (!['', 'dashboard', 'nfdump'].includes(only)) throw new Error('--only takes dashboard or nfdump');
  const hotRows = Number(values['hot-rows'] ?? 100_000_000);
  const coldRows = Number(values['cold-rows'] ?? 300_000_000);
  const runs = Number(values.runs ?? 20);
  const nfdumpDays = Number(values['nfdump-days'] ?? 1);
  const root = values.data ?? join(fileURLToPath(import.meta.url), '..', '..', '..', '.cache', 'bench');
  const say = (s: string) => console.error(`[bench] ${s}`);
  say(`dataset: ${hotRows.toLocaleString()} hot rows (2 days), ${coldRows.toLocaleString()} cold rows (30 days) in ${root}`);
  const d = await buildDataset(root, hotRows, coldRows, say, nfdumpDays);

  const cfg = loadCoreConfig(undefined, {
    netflow: { clickhouse_data_dir: d.hotDir, iceberg_path: d.coldDir, nats_url: '', query_timeout: 300_000 },
    http: { listen_addr: '127.0.0.1:0' }, grpc: { listen_addr: '127.0.0.1:0' },
    api_tokens: [{ name: 'bench', token_hash: hashToken(TOKEN) }],
  } as never);
  const core = new CoreService(cfg, createLogger('bench-core', 'warn'));
  await core.start();
  try {
    const results: Record<string, unknown>[] = [];
    if (only !== 'nfdump') {
      const talker = (await get(core.httpPort, `/api/netflow/realtime?start=${d.endMs - 2 * DAY}&end=${d.endMs}&group_by=src_ip&limit=1`)).body.results[0].src_ip as string;
      const coldTop = (await get(core.httpPort, `/api/netflow/historical?start=${d.endMs - 30 * DAY}&end=${d.endMs}&group_by=src_ip&limit=10`)).body.results as { src_ip: string; bytes: number }[];
      for (const q of queries(d, talker, coldTop[0]!.src_ip)) {
        const path = `/api/netflow${q.route}?${q.params}`;
        const first = await get(core.httpPort, path);
        const times: number[] = [], cpus: number[] = [];
        for (let i = 0; i < runs; i++) { const r = await get(core.httpPort, path); times.push(r.ms); cpus.push(r.cpuMs); }
        const row = {
          route: q.route || 'unified', query: q.name, p50_ms: round(pct(times, 50)), p95_ms: round(pct(times, 95)), cpu_p50_ms: round(pct(cpus, 50)),
          first_ms: round(first.ms), rows_read: first.body.meta.rows_read, tables: first.body.meta.tables.join(' '), load: loadavg()[0]!.toFixed(1),
        };
        results.push(row);
        say(`${row.route.padEnd(11)} ${q.name.padEnd(42)} p50 ${row.p50_ms} ms  p95 ${row.p95_ms} ms  cpu ${row.cpu_p50_ms} ms  load ${row.load}  (${row.rows_read.toLocaleString()} rows read, ${row.tables})`);
      }
    }

    if (only === 'dashboard') { console.log(JSON.stringify({ hot_rows: hotRows, cold_rows: coldRows, runs, results }, null, 2)); return; }
    // nfdump over the newest days of the same flows (the files hold exactly them: no -t, whose window
    // would also drop flows that started before it), and ours over the same range: answers checked first.
    const nfRange = `start=${d.nfcapdFromMs}&end=${d.endMs}`;
    const nfTop = (await get(core.httpPort, `/api/netflow/historical?${nfRange}&group_by=src_ip&limit=10`)).body.results as { src_ip: string; bytes: number }[];
    const base = ['-R', d.nfcapdDir, '-q'];
    const nfQueries = [
      { name: 'top 10 source IPs', args: [...base, '-n', '10', '-s', 'srcip/bytes', '-o', 'csv'], ours: `${nfRange}&group_by=src_ip&limit=10` },
      { name: 'top 5 destination ports', args: [...base, '-n', '5', '-s', 'dstport/bytes', '-o', 'csv'], ours: `${nfRange}&group_by=dst_port&limit=5` },
      { name: "one IP's traffic by protocol", args: [...base, '-s', 'proto/bytes', '-o', 'csv', `ip ${nfTop[0]!.src_ip}`], ours: `${nfRange}&group_by=protocol&filter=ip=${nfTop[0]!.src_ip}` },
    ];
    const top = nfdumpTop((await nfdump(nfQueries[0]!.args)).out, 'val');
    const agree = top.length === 10 && top.every((r, i) => r.key === nfTop[i]!.src_ip && r.bytes === nfTop[i]!.bytes);
    say(`nfdump's top 10 source IPs (${nfdumpDays} day(s)) ${agree ? 'equal ours (addresses and bytes)' : `DIFFER from ours: ${JSON.stringify(top.slice(0, 3))} vs ${JSON.stringify(nfTop.slice(0, 3))}`}`);
    const nf: Record<string, unknown>[] = [];
    for (const q of nfQueries) {
      const runsNf: Awaited<ReturnType<typeof nfdump>>[] = [];
      for (let i = 0; i < 3; i++) runsNf.push(await nfdump(q.args));
      const ms = pct(runsNf.map((r) => r.ms), 50), cpu = pct(runsNf.map((r) => r.cpuMs), 50);
      const path = `/api/netflow/historical?${q.ours}`;
      await get(core.httpPort, path);
      const o: { ms: number; cpuMs: number }[] = [];
      for (let i = 0; i < 5; i++) o.push(await get(core.httpPort, path));
      const oursMs = pct(o.map((r) => r.ms), 50), oursCpu = pct(o.map((r) => r.cpuMs), 50);
      const row = {
        query: `${q.name} (${nfdumpDays} day(s))`, nfdump_p50_ms: round(ms), nfdump_cpu_ms: round(cpu), ours_p50_ms: round(oursMs), ours_cpu_ms: round(oursCpu),
        ratio_wall: round(ms / oursMs), ratio_cpu: round(cpu / oursCpu),
      };
      nf.push(row);
      say(`nfdump     ${row.query.padEnd(42)} ${row.nfdump_p50_ms} ms (cpu ${row.nfdump_cpu_ms}) vs ours ${row.ours_p50_ms} ms (cpu ${row.ours_cpu_ms}): ${row.ratio_wall}x wall, ${row.ratio_cpu}x cpu`);
    }
    console.log(JSON.stringify({ hot_rows: hotRows, cold_rows: coldRows, runs, nfdump_days: nfdumpDays, results, nfdump: nf, nfdump_agrees: agree }, null, 2));
  } finally {
    await core.stop();
  }
}

const round = (x: number) => Math.round(x * 10) / 10;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((err) => { console.error(`bench: ${(err as Error).message}`); process.exitCode = 1; });
}
