// The soak: the whole pipeline as separate processes under many exporters.
//
//   npm run build && node dist/bench/load/soak.js [--exporters 100] [--rate 1000] [--duration 10m]
//       [--clickhouse chdb|server] [--cold-interval 30s] [--drain-timeout 5m] [--workers N] [--keep]
//       [--report FILE] [--profile clickhouse-writer,parquet-writer,checker]
//
// --rate is flows/s per exporter. Starts nats-server, the checker,
// clickhouse-writer (embedded chDB, or a clickhouse-server 18.16 of its own
// with --clickhouse server, which also runs the core-extension), parquet-writer
// and the load generator (bench/load/generator.ts). While traffic runs it
// samples every 5 s the CPU and memory of every process, the load average and
// each writer's lag (stream messages not yet acknowledged). After it, it waits
// for both writers to drain (up to --drain-timeout) and compares what was
// offered with what each tier stored: ClickHouse by SQL on the flows table,
// Iceberg by DuckDB's iceberg_scan, per exporter and source id; duplicates by
// the unique next hop the generator stamps on each flow.
// Latency, UDP send to queryable in ClickHouse: with a server, sample flows
// (one every 200 ms per load thread) are polled for by key every second; on
// chDB (one process only can open it) by accounting, from the writer's
// inserted-rows counter against the ledger's send curve.
// Prints a Markdown report; the raw samples go to --report (default /tmp/soak-<time>.json).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execSync } from 'node:child_process';
import { startLoad, parseDuration } from './generator.js';
import { totals, type Ledger, type Marker } from './ledger.js';
import { accountingLatency, clickhouseEngine, clickhouseMarkers, clickhouseStored, compare, icebergStored, markerKey, quantile, ResourceSampler, type Comparison } from './measure.js';
import { Pipeline, type ServiceName } from './pipeline.js';
import { topSelfTime } from './profile.js';
import { tempDir, waitFor } from '../../test/helpers/process.js';

const { values } = parseArgs({
  options: {
    exporters: { type: 'string', default: '100' }, rate: { type: 'string', default: '1000' }, duration: { type: 'string', default: '10m' },
    clickhouse: { type: 'string', default: 'chdb' }, 'cold-interval': { type: 'string', default: '30s' },
    'drain-timeout': { type: 'string', default: '5m' }, workers: { type: 'string' }, keep: { type: 'boolean', default: false },
    report: { type: 'string' }, profile: { type: 'string' },
  },
});

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '-');

function commit(): string {
  try { return execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim() + (execSync('git status --porcelain -- checker consumers common', { encoding: 'utf8' }).trim() ? ' (+ uncommitted changes)' : ''); } catch { return 'unknown'; }
}

async function main(): Promise<void> {
  const exporters = Number(values.exporters), rate = Number(values.rate), durationMs = parseDuration(values.duration!);
  const engineKind = values.clickhouse === 'server' ? 'server' : 'chdb';
  const dir = tempDir('soak');
  const profile = values.profile ? values.profile.split(',') as ServiceName[] : undefined;
  const pipeline = await Pipeline.start({ dir: dir.path, clickhouse: engineKind, coldIntervalMs: parseDuration(values['cold-interval']!), profile });
  console.error(`pipeline up in ${dir.path} (ClickHouse: ${engineKind}); load: ${exporters} exporters x ${rate} flows/s for ${values.duration}`);
  // The generator's threads run in this process (with the harness's polling).
  const sampler = new ResourceSampler(pipeline, () => [['load-generator + harness', process.pid]]);
  const engine = engineKind === 'server' ? await clickhouseEngine(pipeline) : undefined;
  const storedCurve: Array<[number, number]> = [];
  const latencies: number[] = [];
  const found = new Set<string>();
  let running = true;
  try {
    sampler.start(5000);
    const load = await startLoad({ port: pipeline.ports.udp, exporters, rate, durationMs, workers: values.workers ? Number(values.workers) : undefined });
    // Writer's inserted rows, for accounting latency.
    const curveTimer = setInterval(() => {
      pipeline.metrics('clickhouse-writer').then((m) => storedCurve.push([Date.now(), m['netflow_clickhouse_rows_total'] ?? 0])).catch(() => {});
    }, 500);
    const markerLoop = (async () => {
      while (engine && running) {
        // The oldest first: a marker not found yet keeps being asked for.
        const batch: Marker[] = [];
        for (const m of load.markers()) { if (!found.has(markerKey(m))) batch.push(m); if (batch.length === 400) break; }
        if (batch.length) {
          const hit = await clickhouseMarkers(engine, batch).catch(() => new Set<string>());
          const now = Date.now();
          for (const m of batch) if (hit.has(markerKey(m))) { found.add(markerKey(m)); latencies.push(now - m.sentMs); }
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    const progress = setInterval(() => {
      const lag = sampler.lag.at(-1);
      console.error(`${new Date().toISOString().slice(11, 19)} sent ${load.sent()} flows; lag clickhouse ${lag?.clickhouse ?? '?'} / iceberg ${lag?.iceberg ?? '?'} messages; load ${sampler.loadavg.at(-1)?.one ?? '?'}`);
    }, 15_000);
    const ledger = await load.done;
    const trafficEnd = Date.now();
    clearInterval(progress);
    console.error(`traffic over: ${totals(ledger.sources).flows} flows sent; draining`);
    let drained = true;
    await waitFor('both writers to drain', async () => {
      const c = await pipeline.metrics('checker');
      const lag = await pipeline.lag();
      return c['netflow_checker_queue_depth'] === 0 && c['netflow_checker_in_flight'] === 0 && lag?.clickhouse === 0 && lag.iceberg === 0;
    }, parseDuration(values['drain-timeout']!), 1000).catch(() => { drained = false; });
    const drainMs = Date.now() - trafficEnd;
    // The last markers.
    await new Promise((r) => setTimeout(r, 1500));
    running = false;
    await markerLoop;
    clearInterval(curveTimer);
    sampler.stop();
    const checker = await pipeline.metrics('checker');
    const writerRows = (await pipeline.metrics('clickhouse-writer'))['netflow_clickhouse_rows_total'] ?? 0;

    // chDB: only its writer can open it; stop the writer (it finishes what it holds) and open it here.
    let chEngine = engine;
    if (!chEngine) { await pipeline.stop('clickhouse-writer'); chEngine = await clickhouseEngine(pipeline); }
    const ch = compare(ledger.sources, await clickhouseStored(chEngine));
    if (!engine) await chEngine.close();
    const ice = compare(ledger.sources, (await icebergStored(pipeline.icebergPath)).sources);
    // Profiles are written when a service exits.
    for (const s of profile ?? []) await pipeline.stop(s);
    const profiles = Object.fromEntries((profile ?? []).map((s) => [s, topSelfTime(join(dir.path, 'profiles', s))]));
    const accounting = accountingLatency(ledger.curve, storedCurve);
    const sorted = [...latencies].sort((a, b) => a - b);
    const report = {
      commit: commit(), at: new Date().toISOString(), engine: engineKind, exporters, rate, durationMs, drained, drainMs,
      ledger: { ...totals(ledger.sources), seconds: (ledger.endedMs - ledger.startedMs) / 1000, sources: ledger.sources.length, v5Sources: ledger.sources.filter((s) => s.version === 5).length },
      checker: {
        datagrams: checker['netflow_checker_datagrams_total'], flows: checker['netflow_checker_flows_total'], published: checker['netflow_checker_published_total'],
        queueFull: checker['netflow_checker_dropped_total{reason="queue_full"}'], kernel: checker['netflow_checker_dropped_total{reason="kernel"}'],
        malformed: checker['netflow_checker_packets_malformed_total'],
      },
      writerRows, clickhouse: ch, iceberg: ice,
      latency: { markers: ledger.markers.length, found: found.size, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.at(-1), accounting },
      profiles, processes: sampler.summary(), lag: sampler.lag, loadavg: sampler.loadavg, samples: sampler.samples,
    };
    const reportFile = values.report ?? `/tmp/soak-${Date.now()}.json`;
    writeFileSync(reportFile, JSON.stringify(report, null, 1));
    printReport(report, ledger);
    console.error(`raw samples: ${reportFile}`);
  } finally {
    running = false;
    sampler.stop();
    await engine?.close();
    await pipeline.close();
    if (!values.keep) dir.remove();
  }
}

function tierLine(name: string, c: Comparison): string {
  return `| ${name} | ${fmt(c.stored.flows)} | ${fmt(c.stored.bytes)} | ${fmt(c.stored.packets)} | ${fmt(c.lost)} | ${fmt(c.duplicated)} | ${c.exactSources} / ${c.sources} |`;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function printReport(r: any, ledger: Ledger): void {
  const t = totals(ledger.sources);
  const lines = [
    `### Soak: ${r.exporters} exporters x ${r.rate} flows/s for ${fmt(r.durationMs / 1000)} s, ClickHouse on ${r.engine} (commit ${r.commit}, ${r.at})`,
    '',
    `Offered: ${fmt(t.flows)} flows in ${fmt(t.datagrams)} datagrams from ${new Set(ledger.sources.map((s) => s.exporter)).size} exporters (${r.ledger.sources} sources, ${r.ledger.v5Sources} v5) over ${fmt(r.ledger.seconds, 1)} s = ${fmt(t.flows / r.ledger.seconds)} flows/s really offered; ${t.sendErrors} send errors.`,
    `Checker: ${fmt(r.checker.datagrams)} datagrams read, ${fmt(r.checker.flows)} flows decoded, ${fmt(r.checker.published)} acknowledged by JetStream; dropped: ${fmt(r.checker.queueFull)} queue full, ${fmt(r.checker.kernel)} datagrams by the kernel; ${fmt(r.checker.malformed)} malformed.`,
    `Drain after the traffic: ${r.drained ? `${fmt(r.drainMs / 1000, 1)} s` : `NOT drained within the timeout (${fmt(r.drainMs / 1000)} s); the counts below are what was stored by then`}.`,
    '',
    '| tier | flows stored | bytes | packets | lost | duplicated | sources exact |',
    '|---|---|---|---|---|---|---|',
    `| offered (ledger) | ${fmt(t.flows)} | ${fmt(t.bytes)} | ${fmt(t.packets)} | | | |`,
    tierLine('ClickHouse (SQL on netflow.flows)', r.clickhouse),
    tierLine('Iceberg (DuckDB iceberg_scan)', r.iceberg),
    '',
    r.engine === 'server'
      ? `Latency UDP send -> queryable in ClickHouse (${r.latency.found} of ${r.latency.markers} sample flows found by polling every 1 s): p50 ${fmt(r.latency.p50 / 1000, 1)} s, p99 ${fmt(r.latency.p99 / 1000, 1)} s, max ${fmt(r.latency.max / 1000, 1)} s.`
      : `Latency UDP send -> inserted in chDB (accounting, writer row counter vs send curve, 0.5 s resolution): p50 ${fmt(r.latency.accounting.p50 / 1000, 1)} s, p99 ${fmt(r.latency.accounting.p99 / 1000, 1)} s.`,
    '',
    '| process | CPU mean % | CPU peak % | RSS peak MiB | RSS at end MiB |',
    '|---|---|---|---|---|',
    ...r.processes.map((p: { name: string; cpuMean: number; cpuPeak: number; rssPeak: number; rssLast: number }) => `| ${p.name} | ${fmt(p.cpuMean)} | ${fmt(p.cpuPeak)} | ${fmt(p.rssPeak)} | ${fmt(p.rssLast)} |`),
    '',
    `Writer lag (stream messages not yet acknowledged), every ~30 s: ${lagSeries(r.lag)}`,
    `Load average (1 min), every ~30 s: ${r.loadavg.filter((_: unknown, i: number) => i % 6 === 0).map((l: { one: number }) => l.one).join(', ')}`,
    ...Object.entries(r.profiles as Record<string, Array<{ fn: string; percent: number }>>).flatMap(([s, top]) => [
      '', `CPU profile of ${s} (self time, main thread):`, '', ...top.map((t) => `- ${t.percent.toFixed(1)}% ${t.fn}`),
    ]),
  ];
  console.log(lines.join('\n'));
}

function lagSeries(lag: Array<{ at: number; clickhouse: number; iceberg: number }>): string {
  if (!lag.length) return '-';
  const t0 = lag[0]!.at;
  return lag.filter((_, i) => i % 6 === 0 || i === lag.length - 1).map((l) => `${Math.round((l.at - t0) / 1000)}s ch ${l.clickhouse} / ice ${l.iceberg}`).join('; ');
}

await main();
