// Real traffic on the loopback interface, captured by dumpcap, and the
// references that turn it into NetFlow: softflowd (from the capture) and
// fprobe (live). Totals come from tshark, independently of our decoder.
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { join } from 'node:path';
import { freePort, spawnPeer, waitFor, type Peer } from '../helpers/process.js';

export interface TrafficPorts { tcp: number; udp4: number; udp6: number }

export async function trafficPorts(): Promise<TrafficPorts> {
  return { tcp: await freePort(), udp4: await freePort(), udp6: await freePort() };
}

export const captureFilter = (p: TrafficPorts) => `tcp port ${p.tcp} or udp port ${p.udp4} or udp port ${p.udp6}`;

/** Starts dumpcap on lo (classic pcap); resolves once it captures. */
export async function startCapture(path: string, filter: string): Promise<Peer> {
  const peer = spawnPeer('dumpcap', ['-i', 'lo', '-P', '-f', filter, '-w', path]);
  await waitFor('dumpcap to start', () => {
    if (peer.proc.exitCode !== null) throw new Error(`dumpcap exited: ${peer.output()}`);
    return /Capturing on/.test(peer.output());
  });
  return peer;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * TCP connections carrying requests and replies of varied sizes, UDP/IPv4
 * from several source sockets, UDP/IPv6 to ::1. `scale` multiplies the amount.
 */
export async function makeTraffic(p: TrafficPorts, scale = 1): Promise<void> {
  const server = net.createServer((s) => {
    s.on('data', (d) => s.write(Buffer.alloc(Math.min(d.length, 700) + 3)));
    s.on('end', () => s.end());
  });
  await new Promise<void>((r) => server.listen(p.tcp, '127.0.0.1', r));
  const sinks = [dgram.createSocket('udp4'), dgram.createSocket('udp6')];
  sinks[0]!.on('message', () => undefined);
  sinks[1]!.on('message', () => undefined);
  await new Promise<void>((r) => sinks[0]!.bind(p.udp4, '127.0.0.1', r));
  await new Promise<void>((r) => sinks[1]!.bind(p.udp6, '::1', r));

  for (let c = 0; c < 12 * scale; c++) {
    await new Promise<void>((resolve, reject) => {
      const k = net.connect(p.tcp, '127.0.0.1', async () => {
        for (let i = 0; i <= c % 5; i++) { k.write(Buffer.alloc(200 + 317 * i + c)); await sleep(2); }
        k.end();
      });
      k.on('data', () => undefined);
      k.on('error', reject);
      k.on('close', () => resolve());
    });
  }
  const send = (s: dgram.Socket, size: number, port: number, host: string) => new Promise<void>((r) => s.send(Buffer.alloc(size), port, host, () => r()));
  for (let s = 0; s < 4 * scale; s++) {
    const u4 = dgram.createSocket('udp4');
    const u6 = dgram.createSocket('udp6');
    for (let i = 0; i < 5 + s; i++) {
      await send(u4, 40 + 13 * i + s, p.udp4, '127.0.0.1');
      await send(u6, 60 + 29 * i + s, p.udp6, '::1');
    }
    u4.close();
    u6.close();
  }
  await sleep(200);
  server.close();
  for (const s of sinks) s.close();
}

export interface FlowTotals { flows: number; packets: number; bytes: number; byFlow: Map<string, { packets: number; bytes: number }> }

export const flowKey = (src: string, dst: string, sport: number, dport: number, proto: number) => `${src}|${dst}|${sport}|${dport}|${proto}`;

/**
 * Per direction 5-tuple, from tshark's own dissection: packets, and bytes as
 * NetFlow counts them (the IP packet: ip.len, or the IPv6 payload plus its 40-byte header).
 */
export function tsharkTotals(pcap: string, opts: { ipv4Only?: boolean } = {}): FlowTotals {
  const fields = ['ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'ip.proto', 'ipv6.nxt', 'tcp.srcport', 'tcp.dstport', 'udp.srcport', 'udp.dstport', 'ip.len', 'ipv6.plen'];
  const r = spawnSync('tshark', ['-r', pcap, '-T', 'fields', '-E', 'separator=,', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`tshark failed: ${r.stderr}`);
  const byFlow = new Map<string, { packets: number; bytes: number }>();
  let packets = 0, bytes = 0;
  for (const line of r.stdout.split('\n')) {
    if (!line) continue;
    const [s4, d4, s6, d6, p4, p6, ts, td, us, ud, len4, plen6] = line.split(',');
    const v4 = s4 !== '';
    if (!v4 && opts.ipv4Only) continue;
    const size = v4 ? Number(len4) : Number(plen6) + 40;
    const key = flowKey(v4 ? s4! : s6!, v4 ? d4! : d6!, Number(ts || us || 0), Number(td || ud || 0), Number(v4 ? p4 : p6));
    const f = byFlow.get(key) ?? { packets: 0, bytes: 0 };
    f.packets++;
    f.bytes += size;
    byFlow.set(key, f);
    packets++;
    bytes += size;
  }
  return { flows: byFlow.size, packets, bytes, byFlow };
}

export interface SoftflowdStats { flowsExported: number; records: number; datagrams: number; failures: number; octets: number; packets: number; output: string }

/**
 * `softflowd -r pcap -n 127.0.0.1:port -v version` to completion, with its
 * closing statistics. softflowd 1.1.0 in -r mode blocks in accept() on its
 * control socket between passes over the file; a control request
 * (softflowctl statistics) every 100 ms lets it run on to EOF.
 */
export async function runSoftflowd(pcap: string, port: number, version: 5 | 9, dir: string): Promise<SoftflowdStats> {
  const ctl = join(dir, `softflowd-${version}.ctl`);
  const proc = spawn('softflowd', ['-r', pcap, '-n', `127.0.0.1:${port}`, '-v', String(version), '-d', '-c', ctl, '-p', join(dir, `softflowd-${version}.pid`)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout.on('data', (d) => { output += d; });
  proc.stderr.on('data', (d) => { output += d; });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  let done = false;
  exited.then(() => { done = true; });
  const until = Date.now() + 60_000;
  while (!done && Date.now() < until) {
    spawnSync('softflowctl', ['-c', ctl, 'statistics'], { stdio: 'ignore', timeout: 2000 });
    await sleep(100);
  }
  if (!done) { proc.kill('SIGKILL'); throw new Error(`softflowd did not finish: ${output}`); }
  const code = await exited;
  if (code !== 0) throw new Error(`softflowd exited ${code}: ${output}`);
  const m = /Flows exported: (\d+) \((\d+) records\) in (\d+) packets \((\d+) failures\)/.exec(output);
  if (!m) throw new Error(`no statistics in softflowd output: ${output}`);
  let octets = 0, packets = 0;
  for (const row of output.matchAll(/^\s+\S+ \(\d+\):\s+(\d+)\s+(\d+)\s/gm)) { octets += Number(row[1]); packets += Number(row[2]); }
  return { flowsExported: Number(m[1]), records: Number(m[2]), datagrams: Number(m[3]), failures: Number(m[4]), octets, packets, output };
}

/**
 * fprobe exporting v5 from lo, live; kill() sends SIGTERM, on which it exports
 * its whole flow cache. -q: its queue of captured packets (100 by default)
 * overflows silently on a burst, and the flows then come out short.
 */
export function startFprobe(filter: string, port: number): Peer {
  return spawnPeer('fprobe', ['-i', 'lo', '-f', filter, '-l', '2:fprobe', '-s', '1', '-d', '1', '-e', '300', '-q', '100000', '-n', '5', `127.0.0.1:${port}`]);
}
