// End to end: NetFlow v9 over UDP -> checker -> JetStream, acknowledged.
//
//   npm run build && node dist/bench/checker-e2e.js [--seconds 15] [--rates 50000,100000,150000,200000,250000,300000] [--compare-rate N]
//
// Prints, for each offered rate (flows/s, ascending, stopping at the first
// with loss): flows sent, flows JetStream acknowledged, loss, and CPU seconds
// per million flows of the checker process (and of nats-server beside it).
// Then the same stream at --compare-rate (default: the highest zero-loss rate
// found) into nfcapd (nfdump) and nfacctd (pmacct), with their CPU seconds per
// million flows and ours divided by theirs.
//
// The stream: the Cisco ASR9k's own template and its 51 real flow records from
// ../shared/testdata/netflow/nfv9-cisco-asr9k-one-source, packed full
// (10 records a 1400-byte datagram, as a busy router sends them), with the
// IPv4 addresses and ports rewritten per copy so hosts vary, the v9 sequence
// counting up, the template resent every 100 datagrams. A separate process
// sends it, paced. Every process runs on this 2-core machine together (sender,
// collector, nats-server), shared with other work: the figures are indicative.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseTemplateSet } from '../checker/decoder/templates.js';
import { PcapReader } from '../checker/pcap.js';
import { v9Packet } from '../demo/exporter/packets.js';
import { startNatsServer } from '../test/helpers/nats-server.js';
import { freePort, tempDir, waitFor } from '../test/helpers/process.js';

const HERE = fileURLToPath(import.meta.url);
const ROOT = join(HERE, '..', '..', '..');
const CAPTURE = join(ROOT, '..', 'shared', 'testdata', 'netflow', 'nfv9-cisco-asr9k-one-source', 'traffic.pcap');
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    rates: { type: 'string', default: '50000,100000,150000,200000,250000,300000' },
    'compare-rate': { type: 'string' },
    // Internal: this file is also the sender process.
    send: { type: 'boolean', default: false },
    port: { type: 'string' },
    rate: { type: 'string' },
  },
});

// ---- the stream ----

interface Stream { template: Uint8Array; datagrams: Uint8Array[]; flowsPer: number; packetsPer: number[]; bytesPer: number[] }

const u16 = (b: Uint8Array, p: number) => (b[p]! << 8) | b[p + 1]!;
const u32 = (b: Uint8Array, p: number) => ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;

/** 4096 distinct full datagrams built from the capture's template and records. */
function buildStream(): Stream {
  const payloads = [...new PcapReader(readFileSync(CAPTURE)).udp()].map((d) => d.payload);
  const templateDatagram = payloads[0]!;
  const t = parseTemplateSet(templateDatagram, 24, 20 + u16(templateDatagram, 22)).defs[0]!;
  const offset = (type: number) => { let o = 0; for (const f of t.fields) { if (f.type === type) return o; o += f.length; } throw new Error(`field ${type} not in template`); };
  const recLen = t.fields.reduce((n, f) => n + f.length, 0);
  const at = { src: offset(8), dst: offset(12), sport: offset(7), bytes: offset(1), packets: offset(2) };
  const records: Uint8Array[] = [];
  for (const p of payloads.slice(1)) {
    for (let s = 20; s + 4 <= p.length;) {
      const id = u16(p, s), len = u16(p, s + 2);
      if (len < 4) break;
      if (id === t.id) for (let r = s + 4; r + recLen <= s + len; r += recLen) records.push(p.slice(r, r + recLen));
      s += len;
    }
  }
  const flowsPer = Math.floor((1400 - 24) / recLen);
  const header = { sysUptime: u32(templateDatagram, 4), unixSecs: u32(templateDatagram, 8), sequence: 0, sourceId: u32(templateDatagram, 16) };
  const datagrams: Uint8Array[] = [], packetsPer: number[] = [], bytesPer: number[] = [];
  for (let d = 0, k = 0; d < 4096; d++) {
    const recs: Uint8Array[] = [];
    let packets = 0, bytes = 0;
    for (let i = 0; i < flowsPer; i++, k++) {
      const r = records[k % records.length]!.slice();
      // 10.x.y.z <-> 172.16.y.z, a port per copy: every flow of the stream is its own 5-tuple.
      r.set([10, (k >>> 16) & 255, (k >>> 8) & 255, k & 255], at.src);
      r.set([172, 16, (k >>> 8) & 255, k & 255], at.dst);
      r.set([(k >>> 8) & 255, k & 255], at.sport);
      packets += u32(r, at.packets);
      bytes += u32(r, at.bytes);
      recs.push(r);
    }
    datagrams.push(v9Packet(header, [{ kind: 'data', templateId: t.id, records: recs }]));
    packetsPer.push(packets);
    bytesPer.push(bytes);
  }
  return { template: templateDatagram, datagrams, flowsPer, packetsPer, bytesPer };
}

// ---- the sender process ----

/** datagrams: templates included. */
interface Sent { datagrams: number; flows: number; packets: number; bytes: number; seconds: number; errors: number }

async function sender(port: number, rate: number, seconds: number): Promise<void> {
  const s = buildStream();
  const socket = dgram.createSocket({ type: 'udp4', sendBufferSize: 4 * 1024 * 1024 });
  const sent: Sent = { datagrams: 0, flows: 0, packets: 0, bytes: 0, seconds: 0, errors: 0 };
  const onSent = (err: Error | null) => { if (err) sent.errors++; };
  let sequence = 0;
  const sendOne = (d: Uint8Array) => {
    d[12] = sequence >>> 24; d[13] = (sequence >>> 16) & 255; d[14] = (sequence >>> 8) & 255; d[15] = sequence & 255;
    sequence = (sequence + 1) >>> 0;
    sent.datagrams++;
    // A copy: the socket sends asynchronously and the buffer is reused.
    socket.send(Buffer.from(d), port, '127.0.0.1', onSent);
  };
  const started = performance.now();
  const total = Math.round(rate * seconds);
  let i = 0;
  while (sent.flows < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
    while (sent.flows < due) {
      if (i % 100 === 0) sendOne(s.template);
      const k = i++ % s.datagrams.length;
      sendOne(s.datagrams[k]!);
      sent.flows += s.flowsPer;
      sent.packets += s.packetsPer[k]!;
      sent.bytes += s.bytesPer[k]!;
    }
    await new Promise((r) => setImmediate(r));
  }
  sent.seconds = (performance.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 200));
  socket.close();
  process.stdout.write(JSON.stringify(sent));
}

function runSender(port: number, rate: number, seconds: number): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [HERE, '--send', '--port', String(port), '--rate', String(rate), '--seconds', String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Sent) : reject(new Error(`sender exited ${code}`))));
  });
}

// ---- measuring processes ----

/** CPU seconds (user + system) of a process and all its descendants. */
function cpuSeconds(pid: number): number {
  const stat = (p: number) => {
    try {
      const s = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
    } catch { return undefined; }
  };
  const all = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  const children = new Map<number, number[]>();
  for (const p of all) { const s = stat(p); if (s) children.set(s.ppid, [...(children.get(s.ppid) ?? []), p]); }
  let ticks = 0;
  const walk = (p: number) => { ticks += stat(p)?.ticks ?? 0; for (const c of children.get(p) ?? []) walk(c); };
  walk(pid);
  return ticks / CLK_TCK;
}

/** Datagrams the kernel dropped on the UDP socket bound to `port` (its receive buffer was full). */
function kernelDrops(port: number): number {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[1]?.endsWith(hex)) return Number(cols[cols.length - 1]);
    }
  }
  return 0;
}

async function metrics(port: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^(netflow_checker_[a-z_]+)(\{[^}]*\})? (\S+)$/gm)) out[m[1]! + (m[2] ?? '')] = Number(m[3]);
  return out;
}

function stopProcess(p: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => p.kill('SIGKILL'), 15_000);
    p.once('exit', () => { clearTimeout(t); resolve(); });
    p.kill(signal);
  });
}

const perMillion = (cpu: number, flows: number) => (flows > 0 ? (cpu / flows) * 1e6 : NaN);
const fmt = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : '-');

// ---- our checker ----

interface Step { rate: number; sent: Sent; acked: number; loss: number; cpu: number; natsCpu: number; kernelDrops: number; datagrams: number; queueDrops: number }

async function benchChecker(rates: number[], seconds: number, dir: string): Promise<Step[]> {
  const nats = await startNatsServer();
  const [udp, grpc, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const config = join(dir, 'netflow.json');
  writeFileSync(config, JSON.stringify({
    listen_addr: `127.0.0.1:${udp}`, grpc_listen_addr: `127.0.0.1:${grpc}`, metrics_listen_addr: `127.0.0.1:${metricsPort}`,
    nats_url: nats.url, collector_id: 'bench', queue_size: 500_000, batch_size: 1000, max_in_flight: 64,
    stream: { max_bytes: 8 * 1024 ** 3 },
  }));
  const checker = spawn(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'checker', '--config', config], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, LOG_LEVEL: 'warn' } });
  const natsPid = natsServerPid(nats.port);
  const steps: Step[] = [];
  try {
    await waitFor('checker ready', async () => (await metrics(metricsPort))['netflow_checker_nats_connected'] === 1, 30_000);
    for (const rate of rates) {
      const before = await metrics(metricsPort);
      const cpu0 = cpuSeconds(checker.pid!), nats0 = natsPid ? cpuSeconds(natsPid) : 0, drops0 = kernelDrops(udp);
      const sent = await runSender(udp, rate, seconds);
      // Drained: everything received is acknowledged (or nothing moves any more).
      let last = -1, still = 0;
      await waitFor('checker drained', async () => {
        const m = await metrics(metricsPort);
        const done = m['netflow_checker_queue_depth'] === 0 && m['netflow_checker_in_flight'] === 0 && m['netflow_checker_published_total'] === m['netflow_checker_received_total'];
        still = m['netflow_checker_published_total'] === last ? still + 1 : 0;
        last = m['netflow_checker_published_total']!;
        return done || still >= 6;
      }, 120_000, 500);
      const after = await metrics(metricsPort);
      const acked = after['netflow_checker_published_total']! - before['netflow_checker_published_total']!;
      const step: Step = {
        rate, sent, acked, loss: sent.flows - acked,
        cpu: cpuSeconds(checker.pid!) - cpu0, natsCpu: natsPid ? cpuSeconds(natsPid) - nats0 : NaN, kernelDrops: kernelDrops(udp) - drops0,
        datagrams: after['netflow_checker_datagrams_total']! - before['netflow_checker_datagrams_total']!,
        queueDrops: after['netflow_checker_dropped_total{reason="queue_full"}']! - before['netflow_checker_dropped_total{reason="queue_full"}']!,
      };
      steps.push(step);
      console.log(`checker  ${String(rate).padStart(7)} flows/s offered (${fmt(sent.flows / sent.seconds, 0)} sent): ${sent.flows} sent, ${acked} acked, loss ${step.loss} (datagrams: ${sent.datagrams} sent, ${step.datagrams} read, ${step.kernelDrops} dropped by the kernel; ${step.queueDrops} flows dropped from the queue), `
        + `${fmt(perMillion(step.cpu, acked))} CPU s/M flows (nats-server ${fmt(perMillion(step.natsCpu, acked))})`);
      if (step.loss !== 0) break;
    }
  } finally {
    await stopProcess(checker);
    await nats.destroy();
  }
  return steps;
}

function natsServerPid(port: number): number | undefined {
  const r = spawnSync('pgrep', ['-f', `nats-server -a 127.0.0.1 -p ${port} `], { encoding: 'utf8' });
  const pid = Number(r.stdout.trim().split('\n')[0]);
  return pid > 0 ? pid : undefined;
}

// ---- the references ----

interface Reference { name: string; sent: Sent; stored: { flows: number; packets: number; bytes: number }; cpu: number; kernelDrops: number }

async function benchNfcapd(rate: number, seconds: number, dir: string): Promise<Reference> {
  const port = await freePort();
  const out = join(dir, 'nfcapd');
  spawnSync('mkdir', ['-p', out]);
  const p = spawn('nfcapd', ['-w', out, '-b', '127.0.0.1', '-p', String(port), '-t', '3600', '-B', String(8 * 1024 * 1024)], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise((r) => setTimeout(r, 1000));
  if (p.exitCode !== null) throw new Error('nfcapd exited at start');
  const cpu0 = cpuSeconds(p.pid!);
  const sent = await runSender(port, rate, seconds);
  await new Promise((r) => setTimeout(r, 1500));
  const drops = kernelDrops(port);
  // Its file is written when it stops; the CPU of writing it counts too.
  const cpuBeforeStop = cpuSeconds(p.pid!) - cpu0;
  await stopProcess(p);
  const info = spawnSync('nfdump', ['-R', out, '-I'], { encoding: 'utf8' }).stdout;
  const num = (k: string) => Number(new RegExp(`^${k}:\\s*(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return { name: 'nfcapd (nfdump 1.7)', sent, stored: { flows: num('Flows'), packets: num('Packets'), bytes: num('Bytes') }, cpu: cpuBeforeStop, kernelDrops: drops };
}

async function benchNfacctd(rate: number, seconds: number, dir: string): Promise<Reference> {
  const port = await freePort();
  const csv = join(dir, 'nfacctd.csv');
  const conf = join(dir, 'nfacctd.conf');
  writeFileSync(conf, [
    'daemonize: false', `pidfile: ${join(dir, 'nfacctd.pid')}`, `logfile: ${join(dir, 'nfacctd.log')}`,
    'nfacctd_ip: 127.0.0.1', `nfacctd_port: ${port}`, `nfacctd_pipe_size: ${8 * 1024 * 1024}`,
    'plugin_pipe_size: 67108864', 'plugin_buffer_size: 65536',
    'plugins: print[p]', 'aggregate[p]: src_host, dst_host, src_port, dst_port, proto',
    'print_output[p]: csv', `print_output_file[p]: ${csv}`, 'print_refresh_time[p]: 3600', '',
  ].join('\n'));
  const p = spawn('nfacctd', ['-f', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise((r) => setTimeout(r, 1500));
  if (p.exitCode !== null) throw new Error(`nfacctd exited at start: ${readFileSync(join(dir, 'nfacctd.log'), 'utf8').slice(-2000)}`);
  const cpu0 = cpuSeconds(p.pid!);
  const sent = await runSender(port, rate, seconds);
  await new Promise((r) => setTimeout(r, 1500));
  const drops = kernelDrops(port);
  const cpuBeforeStop = cpuSeconds(p.pid!) - cpu0;
  // SIGINT: pmacct purges its caches to the backend and exits.
  await stopProcess(p, 'SIGINT');
  const stored = { flows: 0, packets: 0, bytes: 0 };
  const lines = readFileSync(csv, 'utf8').trim().split('\n');
  const head = lines[0]!.split(',');
  const [pi, bi] = [head.indexOf('PACKETS'), head.indexOf('BYTES')];
  for (const line of lines.slice(1)) {
    const c = line.split(',');
    stored.flows++;
    stored.packets += Number(c[pi]);
    stored.bytes += Number(c[bi]);
  }
  return { name: 'nfacctd (pmacct 1.7.7)', sent, stored, cpu: cpuBeforeStop, kernelDrops: drops };
}

async function main(): Promise<void> {
  const seconds = Number(values.seconds);
  const rates = values.rates!.split(',').map(Number).sort((a, b) => a - b);
  const dir = tempDir('bench-e2e');
  try {
    const s = buildStream();
    console.log(`stream: Cisco ASR9k template ${u16(s.template, 24)} (${s.flowsPer} records/datagram, ${s.datagrams[0]!.length} bytes), ${seconds} s per step, ${CLK_TCK} clock ticks/s`);
    const steps = await benchChecker(rates, seconds, dir.path);
    const clean = steps.filter((st) => st.loss === 0);
    const best = clean.at(-1);
    console.log(best ? `\nhighest offered rate with zero loss: ${best.rate} flows/s (${fmt(perMillion(best.cpu, best.acked))} CPU s per million flows)` : '\nno rate ran without loss');
    const rate = Number(values['compare-rate'] ?? best?.rate ?? rates[0]);
    const ours = steps.find((st) => st.rate === rate) ?? best;
    const refs = [await benchNfcapd(rate, seconds, dir.path), await benchNfacctd(rate, seconds, dir.path)];
    console.log(`\nthe same stream at ${rate} flows/s:`);
    console.log('collector               flows sent       stored*  packets ok  bytes ok  kernel drops  CPU s/M flows  ours / theirs');
    if (ours) console.log(`${'serviceradar checker'.padEnd(22)}  ${String(ours.sent.flows).padStart(10)}  ${String(ours.acked).padStart(12)}  ${'-'.padStart(10)}  ${'-'.padStart(8)}  ${String(ours.kernelDrops).padStart(12)}  ${fmt(perMillion(ours.cpu, ours.acked)).padStart(13)}  ${'1.00'.padStart(13)}`);
    for (const r of refs) {
      const theirs = perMillion(r.cpu, r.sent.flows);
      const ratio = ours ? perMillion(ours.cpu, ours.acked) / theirs : NaN;
      console.log(`${r.name.padEnd(22)}  ${String(r.sent.flows).padStart(10)}  ${String(r.stored.flows).padStart(12)}  ${String(r.stored.packets === r.sent.packets).padStart(10)}  ${String(r.stored.bytes === r.sent.bytes).padStart(8)}  ${String(r.kernelDrops).padStart(12)}  ${fmt(theirs).padStart(13)}  ${fmt(ratio).padStart(13)}`);
    }
    console.log('* flows acknowledged by JetStream; flows in nfcapd\'s file (nfdump -I); nfacctd\'s rows after aggregating on the 5-tuple (the stream repeats every 40960 flows).');
    console.log('packets ok / bytes ok: the totals the collector stored equal the totals sent.');
  } finally {
    dir.remove();
  }
}

if (values.send) await sender(Number(values.port), Number(values.rate), Number(values.seconds));
else await main();
