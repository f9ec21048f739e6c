// A long feedback-guided mutation run against the NetFlow decoder, seeded with
// the real captures. (Jazzer.js, the coverage-guided fuzzer on npm, does not
// load here: its 4.x native addon needs glibc 2.38, 2.x fetches its build from
// outside the registry.) An input that shows a new combination of decoder
// counters joins the working corpus, so the run digs into the paths the seeds
// open. Findings go to OUT/findings: 'crash-*' (an invariant of check.ts
// broken, or a throw), 'slow-*' (over 1 s), 'hang-*' (no progress for 10 s: the
// watchdog thread saves the input being decoded and stops the run). Memory: one
// long-lived decoder hears every mutant; at the end, without the working
// corpus, the heap after GC must be within its caps.
//
// Usage: node --expose-gc dist/bench/fuzz/run.js [--minutes 10] [--seed 1] [--out .cache/fuzz]
// The hand-built seeds of test/decoder/corpus/: node dist/bench/fuzz/corpus-seeds.js test/decoder/corpus
// Exit code 0 when nothing was found, 1 otherwise. Each finding is replayed by
// test/decoder/corpus.test.ts once it is copied to test/decoder/corpus/ with its expected counters.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { NetFlowDecoder, type DecoderStats } from '../../checker/decoder/index.js';
import { rng } from '../../demo/traffic.js';
import { checkInput } from './check.js';
import { FUZZ_T0, joinFrames, splitFrames } from './frames.js';
import { Mutator, type MFrame } from './mutate.js';
import { buildSeeds } from './seeds.js';

const SLOW_MS = 1000, HANG_MS = 10_000, MAX_CORPUS = 4000, MAX_INPUT = 1 << 17;
/** Caps of the long-lived decoder: the defaults but fewer templates, so everything it may keep
 *  (~11 MiB of templates, ~30 MiB of compiled layouts) is well under MAX_HEAP_GROWTH_MB and
 *  anything unbounded shows within minutes. */
const LONG_LIVED_LIMITS = { maxTemplatesPerExporter: 64, maxTemplateFields: 100_000 };
const MAX_HEAP_GROWTH_MB = 96;

interface Options { minutes: number; seed: number; out: string }
interface Progress { iterations: number; corpus: number; features: number; findings: number; heapMb: number; heapFirstMb: number; flows: number }

function save(out: string, kind: string, input: Uint8Array, why: string): string {
  const dir = join(out, 'findings');
  mkdirSync(dir, { recursive: true });
  const name = `${kind}-${createHash('sha1').update(input).digest('hex').slice(0, 12)}`;
  writeFileSync(join(dir, name), input);
  writeFileSync(join(dir, `${name}.txt`), why + '\n');
  return name;
}

/** AFL-style buckets, so a counter going from 3 to 4 is news but 40 to 41 is not. */
const bucket = (n: number) => (n < 4 ? n : n < 8 ? 4 : n < 16 ? 5 : n < 32 ? 6 : n < 128 ? 7 : 8);

function features(s: DecoderStats, records: number): string[] {
  const f: string[] = [];
  for (const [k, v] of Object.entries(s.errors)) if (v > 0) f.push(`${k}:${bucket(v)}`);
  const plain = { packets_malformed: s.packets_malformed, templates_learned: s.templates_learned, templates_evicted: s.templates_evicted,
    pending: s.pending, pending_decoded: s.pending_decoded, pending_expired: s.pending_expired, pending_dropped: s.pending_dropped,
    exporters_evicted: s.exporters_evicted, records };
  for (const [k, v] of Object.entries(plain)) if (v > 0) f.push(`${k}:${bucket(v)}`);
  for (const g of s.sequenceGaps) for (const k of ['gaps', 'lost', 'reordered', 'resets', 'restarts'] as const) if (g[k] > 0) f.push(`v${g.version}.${k}:${bucket(g[k])}`);
  // Pairs of what went wrong together reach deeper than each alone.
  const errs = f.filter((x) => !x.includes('.'));
  for (let i = 0; i < errs.length; i++) for (let j = i + 1; j < errs.length; j++) f.push(`${errs[i]}+${errs[j]}`);
  return f;
}

function fuzzLoop(o: Options, current: SharedArrayBuffer, beat: Int32Array): void {
  const cur = new Uint8Array(current);
  const rand = rng(o.seed);
  const corpus: MFrame[][] = buildSeeds();
  const pool = () => corpus[Math.floor(rand() * corpus.length)]!;
  const mutator = new Mutator(rand, pool);
  const seen = new Set<string>();
  const longLived = new NetFlowDecoder(LONG_LIVED_LIMITS);
  const deadline = Date.now() + o.minutes * 60_000;
  const p: Progress = { iterations: 0, corpus: corpus.length, features: 0, findings: 0, heapMb: 0, heapFirstMb: 0, flows: 0 };
  const gc = (globalThis as { gc?: () => void }).gc;
  const heapMb = () => { gc?.(); return process.memoryUsage().heapUsed / 2 ** 20; };
  let nextReport = Date.now() + 5000;
  for (let i = 0; Date.now() < deadline; i++) {
    // The first pass runs every seed unchanged.
    const frames = i < corpus.length ? corpus[i]! : mutator.mutate(pool());
    const input = joinFrames(frames);
    if (input.length > MAX_INPUT) continue;
    // Hand the input to the watchdog before decoding it: if the decoder never returns, that is the one.
    new DataView(current).setUint32(0, input.length); cur.set(input, 4);
    const started = performance.now();
    try {
      const { decoder, records } = checkInput(input);
      const ms = performance.now() - started;
      if (ms > SLOW_MS) { p.findings++; save(o.out, 'slow', input, `took ${ms.toFixed(0)} ms`); }
      let fresh = false;
      for (const f of features(decoder.stats(), records.length)) if (!seen.has(f)) { seen.add(f); fresh = true; }
      if (fresh && i >= corpus.length && corpus.length < MAX_CORPUS) corpus.push(frames);
      p.flows += records.length;
    } catch (e) {
      p.findings++;
      save(o.out, 'crash', input, (e as Error).stack ?? String(e));
    }
    splitFrames(input).forEach((f, k) => longLived.decode(f.datagram, f.exporter, FUZZ_T0 + i * 10 + k));
    Atomics.add(beat, 0, 1);
    p.iterations++;
    if (Date.now() >= nextReport) {
      nextReport = Date.now() + 5000;
      p.corpus = corpus.length; p.features = seen.size; p.heapMb = heapMb();
      if (p.heapFirstMb === 0) p.heapFirstMb = p.heapMb;
      parentPort!.postMessage(p);
    }
  }
  p.corpus = corpus.length; p.features = seen.size;
  // Without the working corpus, what is left on the heap is the long-lived decoder's state.
  corpus.length = 0;
  p.heapMb = heapMb();
  parentPort!.postMessage({ ...p, done: true, longLived: longLived.stats() });
}

function main(): void {
  const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' }, seed: { type: 'string', default: '1' }, out: { type: 'string', default: '.cache/fuzz' } } });
  const o: Options = { minutes: Number(values.minutes), seed: Number(values.seed), out: values.out! };
  const current = new SharedArrayBuffer(4 + MAX_INPUT);
  const beat = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(new URL(import.meta.url), { workerData: { o, current, beat: beat.buffer }});
  let last = 0, lastChange = Date.now(), final: (Progress & { longLived: DecoderStats }) | undefined;
  const watchdog = setInterval(() => {
    const now = Atomics.load(beat, 0);
    if (now !== last) { last = now; lastChange = Date.now(); return; }
    if (Date.now() - lastChange < HANG_MS) return;
    const len = new DataView(current).getUint32(0);
    const name = save(o.out, 'hang', new Uint8Array(current, 4, len).slice(), `no progress for ${HANG_MS} ms`);
    console.error(`HANG: the decoder has not returned for ${HANG_MS / 1000} s; input saved as ${join(o.out, 'findings', name)}`);
    void worker.terminate();
    clearInterval(watchdog);
    process.exitCode = 1;
  }, 1000);
  worker.on('message', (m: Progress & { done?: boolean; longLived?: DecoderStats }) => {
    console.log(`${m.iterations} inputs, corpus ${m.corpus}, features ${m.features}, findings ${m.findings}, flows ${m.flows}, long-lived decoder heap ${m.heapMb.toFixed(1)} MiB (first ${m.heapFirstMb.toFixed(1)})`);
    if (m.done) final = m as Progress & { longLived: DecoderStats };
  });
  worker.on('error', (e) => { console.error('fuzz worker failed:', e); process.exitCode = 1; });
  worker.on('exit', () => {
    clearInterval(watchdog);
    if (final === undefined) return;
    const s = final.longLived;
    console.log(`long-lived decoder: ${s.packets} datagrams, ${s.flows} flows, ${s.packets_malformed} malformed, errors ${JSON.stringify(s.errors)}, pending ${s.pending} (${s.pending_bytes} B), template fields ${s.template_fields}; heap at the end ${final.heapMb.toFixed(1)} MiB`);
    // At the end the working corpus is dropped, so the heap is back to the decoder's state.
    const grown = final.heapMb - final.heapFirstMb > MAX_HEAP_GROWTH_MB;
    if (grown) console.error(`MEMORY: heap grew from ${final.heapFirstMb.toFixed(1)} to ${final.heapMb.toFixed(1)} MiB`);
    if (final.findings > 0) console.error(`${final.findings} findings in ${join(o.out, 'findings')}`);
    process.exitCode = final.findings > 0 || grown ? 1 : 0;
  });
}

if (isMainThread) main();
else {
  const d = workerData as { o: Options; current: SharedArrayBuffer; beat: SharedArrayBuffer };
  fuzzLoop(d.o, d.current, new Int32Array(d.beat));
}
