// What the tiers stored, read by engines that are not our writers' code:
// ClickHouse by SQL on the flows table, the Iceberg table by DuckDB's iceberg
// extension (bench/load/iceberg_totals.py). Plus the resource sampler (CPU
// and memory of every process, writer lag) and the latency statistics.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openEngine, type ClickHouseEngine } from '../../consumers/clickhouse/engine.js';
import type { Ledger, Marker, SourceLedger } from './ledger.js';
import type { Pipeline } from './pipeline.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const run = promisify(execFile);
const CLK_TCK = 100;

export interface StoredSource { exporter: string; sourceId: number; flows: number; bytes: number; packets: number; distinct: number }

/** "00000000000000000000FFFF7F000001" -> "127.0.0.1" (the flows table keeps IPv4 as IPv4-mapped IPv6). */
export function ipFromHex(hex: string): string {
  const h = hex.toLowerCase();
  if (h.startsWith('00000000000000000000ffff')) return [0, 2, 4, 6].map((i) => parseInt(h.slice(24 + i, 26 + i), 16)).join('.');
  return h.match(/.{4}/g)!.join(':');
}

export function ipv4Hex(ip: string): string {
  return '00000000000000000000FFFF' + ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0').toUpperCase()).join('');
}

export async function clickhouseEngine(p: Pipeline): Promise<ClickHouseEngine> {
  const s = p.clickhouseServer;
  return openEngine(s ? { clickhouse_url: s.url, clickhouse_user: s.user, clickhouse_password: s.password } : { clickhouse_url: '', clickhouse_data_dir: join(p.opts.dir, 'chdb') });
}

export async function clickhouseStored(engine: ClickHouseEngine): Promise<StoredSource[]> {
  const rows = await engine.query<{ e: string; s: string; n: string; b: string; p: string; d: string }>(
    'SELECT hex(exporter) AS e, source_id AS s, count() AS n, sum(bytes) AS b, sum(packets) AS p, uniqExact(next_hop) AS d '
    + 'FROM netflow.flows WHERE ingest_seq = 0 GROUP BY exporter, source_id');
  return rows.map((r) => ({ exporter: ipFromHex(r.e), sourceId: Number(r.s), flows: Number(r.n), bytes: Number(r.b), packets: Number(r.p), distinct: Number(r.d) }));
}

/** Which markers are queryable in ClickHouse now. */
export async function clickhouseMarkers(engine: ClickHouseEngine, markers: readonly Marker[]): Promise<Set<string>> {
  if (!markers.length) return new Set();
  // Flows end about a second before they are sent: a time bound keeps the scan to recent parts.
  const since = Math.floor(Math.min(...markers.map((m) => m.sentMs)) / 1000) - 120;
  const keys = markers.map((m) => `(toFixedString(unhex('${ipv4Hex(m.exporter)}'), 16), ${m.sourceId}, toFixedString(unhex('${ipv4Hex(m.nextHop)}'), 16))`).join(', ');
  const rows = await engine.query<{ e: string; s: string; h: string }>(
    `SELECT hex(exporter) AS e, source_id AS s, hex(next_hop) AS h FROM netflow.flows WHERE timestamp >= toDateTime(${since}) AND (exporter, source_id, next_hop) IN (${keys})`);
  return new Set(rows.map((r) => markerKey({ exporter: ipFromHex(r.e), sourceId: Number(r.s), nextHop: ipFromHex(r.h) })));
}

export const markerKey = (m: { exporter: string; sourceId: number; nextHop: string }) => `${m.exporter}/${m.sourceId}/${m.nextHop}`;

export async function icebergStored(tablePath: string, markers: readonly Marker[] = []): Promise<{ sources: StoredSource[]; markersFound: Set<string> }> {
  const python = process.env.PEERS_PYTHON ?? join(ROOT, '.cache', 'peers', 'bin', 'python');
  const spec = JSON.stringify({ table: tablePath, markers: markers.map((m) => [m.exporter, m.sourceId, m.nextHop]) });
  const { stdout } = await run(python, [join(ROOT, 'bench', 'load', 'iceberg_totals.py'), spec], { maxBuffer: 64 * 1024 * 1024 });
  const out = JSON.parse(stdout) as { sources: StoredSource[]; markers_found: Array<[string, number, string]> };
  return { sources: out.sources, markersFound: new Set(out.markers_found.map(([exporter, sourceId, nextHop]) => markerKey({ exporter, sourceId, nextHop }))) };
}

export interface Comparison {
  offered: { flows: number; bytes: number; packets: number };
  stored: { flows: number; bytes: number; packets: number };
  /** Offered flows not stored (per source, never negative). */
  lost: number;
  /** Stored more than once (flows - distinct next hops, per source). */
  duplicated: number;
  /** Sources whose flows, bytes and packets all match exactly. */
  exactSources: number;
  sources: number;
}

/** Ledger vs what a tier stored, per (exporter, source id). */
export function compare(sent: readonly SourceLedger[], stored: readonly StoredSource[]): Comparison {
  const got = new Map(stored.map((s) => [`${s.exporter}/${s.sourceId}`, s]));
  const c: Comparison = { offered: { flows: 0, bytes: 0, packets: 0 }, stored: { flows: 0, bytes: 0, packets: 0 }, lost: 0, duplicated: 0, exactSources: 0, sources: sent.length };
  for (const s of sent) {
    const g = got.get(`${s.exporter}/${s.sourceId}`) ?? { flows: 0, bytes: 0, packets: 0, distinct: 0 };
    c.offered.flows += s.flows; c.offered.bytes += s.bytes; c.offered.packets += s.packets;
    c.lost += Math.max(0, s.flows - g.distinct);
    if (g.flows === s.flows && g.bytes === s.bytes && g.packets === s.packets && g.distinct === s.flows) c.exactSources++;
  }
  for (const g of stored) {
    c.stored.flows += g.flows; c.stored.bytes += g.bytes; c.stored.packets += g.packets;
    c.duplicated += g.flows - g.distinct;
  }
  return c;
}

// ---- latency ----

export function quantile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/**
 * Latency by accounting, for engines we cannot query from outside (chDB):
 * flow number n is stored when the writer's inserted-rows counter reaches n;
 * it was sent when the ledger's curve reached n. Assumes first in, first out
 * (nearly true: one stream, batches in order), resolution = the sampling period.
 * Returns p50 and p99 in ms over every flow stored.
 */
export function accountingLatency(sentCurve: ReadonlyArray<[number, number]>, storedCurve: ReadonlyArray<[number, number]>): { p50: number; p99: number; flows: number } {
  const sentAt = (n: number) => {
    let lo = 0, hi = sentCurve.length - 1;
    if (hi < 0 || sentCurve[hi]![1] < n) return NaN;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (sentCurve[mid]![1] >= n) hi = mid; else lo = mid + 1; }
    return sentCurve[lo]![0];
  };
  // Weighted samples: the flows stored between two counter readings, with their latency at a few points.
  const samples: Array<[number, number]> = [];
  let prev = 0;
  for (const [t, n] of storedCurve) {
    if (n <= prev) continue;
    const parts = 8;
    for (let k = 1; k <= parts; k++) {
      const at = prev + Math.round(((n - prev) * k) / parts);
      const s = sentAt(at);
      if (Number.isFinite(s)) samples.push([t - s, (n - prev) / parts]);
    }
    prev = n;
  }
  samples.sort((a, b) => a[0] - b[0]);
  const total = samples.reduce((x, [, w]) => x + w, 0);
  const at = (q: number) => { let acc = 0; for (const [l, w] of samples) { acc += w; if (acc >= q * total) return l; } return NaN; };
  return { p50: at(0.5), p99: at(0.99), flows: prev };
}

// ---- processes ----

export interface ProcSample { at: number; name: string; cpuPercent: number; rssMiB: number }

function procStat(pid: number): { ticks: number; rssKiB: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { ticks: Number(f[11]) + Number(f[12]), rssKiB: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) };
  } catch { return undefined; }
}

/** CPU (% of one core, threads included) and RSS of every pipeline process, every `everyMs`. */
export class ResourceSampler {
  readonly samples: ProcSample[] = [];
  readonly lag: Array<{ at: number; clickhouse: number; iceberg: number; streamMessages: number; streamBytes: number }> = [];
  readonly loadavg: Array<{ at: number; one: number }> = [];
  private last = new Map<number, { at: number; ticks: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly pipeline: Pipeline, private readonly extra: () => Array<[string, number]> = () => []) {}

  start(everyMs: number): void {
    this.timer = setInterval(() => void this.sample(), everyMs);
    void this.sample();
  }

  async sample(): Promise<void> {
    const at = Date.now();
    for (const [name, pid] of [...this.pipeline.pids(), ...this.extra()]) {
      const s = procStat(pid);
      if (!s) continue;
      const prev = this.last.get(pid);
      this.last.set(pid, { at, ticks: s.ticks });
      if (prev) this.samples.push({ at, name, cpuPercent: ((s.ticks - prev.ticks) / CLK_TCK) / ((at - prev.at) / 1000) * 100, rssMiB: s.rssKiB / 1024 });
    }
    this.loadavg.push({ at, one: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]) });
    const lag = await this.pipeline.lag();
    if (lag) this.lag.push({ at, ...lag });
  }

  stop(): void { clearInterval(this.timer); }

  /** Per process: mean and peak CPU %, peak RSS. */
  summary(): Array<{ name: string; cpuMean: number; cpuPeak: number; rssPeak: number; rssLast: number }> {
    const by = new Map<string, ProcSample[]>();
    for (const s of this.samples) by.set(s.name, [...(by.get(s.name) ?? []), s]);
    return [...by].map(([name, xs]) => ({
      name,
      cpuMean: xs.reduce((n, x) => n + x.cpuPercent, 0) / xs.length,
      cpuPeak: Math.max(...xs.map((x) => x.cpuPercent)),
      rssPeak: Math.max(...xs.map((x) => x.rssMiB)),
      rssLast: xs.at(-1)!.rssMiB,
    }));
  }
}

export type { Ledger };
