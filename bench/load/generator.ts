// The load generator: many NetFlow exporters at once, from distinct loopback
// addresses (127.1.x.y), split over worker threads, with a ledger of exactly
// what was sent.
//
//   node dist/bench/load/generator.js --port 2055 [--exporters 100] [--rate 1000] [--duration 60s] [--workers N] [--ledger out.json]
//
// --rate is flows/s per exporter. Prints the offered rate every 5 s and, at
// the end, the totals (the whole ledger goes to --ledger).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { mergeCurves, totals, type Ledger, type Marker, type SourceLedger } from './ledger.js';
import type { WorkerInput, WorkerMessage } from './worker.js';

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));

export interface LoadOptions {
  host?: string;
  port: number;
  exporters: number;
  /** Flows per second per exporter. */
  rate: number;
  /** 0 = until stop(). */
  durationMs: number;
  /** Default: one thread per 40,000 flows/s offered (at least one). */
  workers?: number;
  /** First exporter index (another load on the same collector can use other addresses). */
  firstExporter?: number;
}

export interface Load {
  /** Flows sent so far (all threads). */
  sent(): number;
  /** Markers so far. */
  markers(): Marker[];
  /** Stops sending (at once, or waits for the duration) and returns the ledger. */
  stop(): Promise<Ledger>;
  /** Resolves with the ledger when the duration is over. */
  done: Promise<Ledger>;
}

export async function startLoad(opts: LoadOptions): Promise<Load> {
  const nWorkers = Math.max(1, Math.min(opts.exporters, opts.workers ?? Math.ceil((opts.exporters * opts.rate) / 40_000)));
  const first = opts.firstExporter ?? 0;
  const shares: number[][] = Array.from({ length: nWorkers }, () => []);
  for (let i = 0; i < opts.exporters; i++) shares[i % nWorkers]!.push(first + i);
  const curves: Array<Array<[number, number]>> = shares.map(() => []);
  const markers: Marker[] = [];
  const sources: SourceLedger[] = [];
  let startedMs = Infinity, endedMs = 0;
  const workers: Worker[] = [];
  const finished = shares.map((exporters, w) => new Promise<void>((resolve, reject) => {
    const input: WorkerInput = { exporters, rate: opts.rate, durationMs: opts.durationMs, host: opts.host ?? '127.0.0.1', port: opts.port };
    const worker = new Worker(WORKER, { workerData: input });
    workers.push(worker);
    worker.on('message', (m: WorkerMessage) => {
      if (m.kind === 'progress') { curves[w]!.push([m.at, m.flows]); markers.push(...m.markers); }
      if (m.kind === 'done') { sources.push(...m.sources); startedMs = Math.min(startedMs, m.startedMs); endedMs = Math.max(endedMs, m.endedMs); resolve(); }
    });
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`load worker exited with ${code}`))));
  }));
  await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => {
    const onMessage = (m: WorkerMessage) => { if (m.kind === 'ready') { w.off('message', onMessage); resolve(); } };
    w.on('message', onMessage);
    w.once('error', reject);
  })));
  for (const w of workers) w.postMessage({ kind: 'go' });
  const ledger = async (): Promise<Ledger> => {
    await Promise.all(finished);
    sources.sort((a, b) => a.exporter.localeCompare(b.exporter, 'en', { numeric: true }) || a.sourceId - b.sourceId);
    return { startedMs, endedMs, sources, curve: mergeCurves(curves), markers };
  };
  const done = ledger();
  return {
    sent: () => curves.reduce((n, c) => n + (c.at(-1)?.[1] ?? 0), 0),
    markers: () => markers,
    async stop() { for (const w of workers) w.postMessage({ kind: 'stop' }); return done; },
    done,
  };
}

export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) throw new Error(`"${s}" is not a duration (30s, 10m, 1h)`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
}

async function cli(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string' },
      exporters: { type: 'string', default: '100' }, rate: { type: 'string', default: '1000' },
      duration: { type: 'string', default: '60s' }, workers: { type: 'string' }, ledger: { type: 'string' },
    },
  });
  if (!values.port) throw new Error('--port is required');
  if (!/^127\./.test(values.host!)) throw new Error('--host must be a loopback address (127.0.0.0/8)');
  const load = await startLoad({
    host: values.host, port: Number(values.port), exporters: Number(values.exporters), rate: Number(values.rate),
    durationMs: parseDuration(values.duration!), workers: values.workers ? Number(values.workers) : undefined,
  });
  let last = { at: Date.now(), sent: 0 };
  const timer = setInterval(() => {
    const now = { at: Date.now(), sent: load.sent() };
    console.log(`offered ${Math.round(((now.sent - last.sent) * 1000) / (now.at - last.at))} flows/s (${now.sent} so far)`);
    last = now;
  }, 5000);
  process.once('SIGINT', () => void load.stop());
  const ledger = await load.done;
  clearInterval(timer);
  const t = totals(ledger.sources);
  const seconds = (ledger.endedMs - ledger.startedMs) / 1000;
  console.log(`sent ${t.flows} flows (${t.bytes} bytes, ${t.packets} packets) in ${t.datagrams} datagrams from ${new Set(ledger.sources.map((s) => s.exporter)).size} exporters, ${seconds.toFixed(1)} s: ${Math.round(t.flows / seconds)} flows/s offered; ${t.sendErrors} send errors`);
  if (values.ledger) writeFileSync(values.ledger, JSON.stringify(ledger));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await cli();
