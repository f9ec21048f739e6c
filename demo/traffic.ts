// A synthetic network whose flows look like an office/campus edge: a few
// hundred internal hosts with Zipf-distributed activity talking to a few
// thousand outside servers over a realistic port mix, heavy-tailed flow sizes,
// a daily rhythm, and the odd spike. Deterministic for a given seed, so the
// demo, the load generator and the benchmarks can each say what they sent.
import { emptyRecord, type FlowRecord } from '../common/flow.js';

/** mulberry32: small, fast, good enough for traffic shapes (not for crypto). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Index in [0, n) with probability proportional to 1/(i+1)^s (precomputed CDF). */
function zipf(n: number, s: number): (u: number) => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) { sum += 1 / Math.pow(i + 1, s); cdf[i] = sum; }
  for (let i = 0; i < n; i++) cdf[i]! /= sum;
  return (u) => {
    let lo = 0, hi = n - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (cdf[mid]! < u) lo = mid + 1; else hi = mid; }
    return lo;
  };
}

export interface Service { port: number; protocol: number; weight: number; meanBytes: number; pktSize: number }

// Shares loosely follow published enterprise edge mixes: HTTPS dominates,
// DNS is many small flows, a long tail of everything else.
export const SERVICES: readonly Service[] = [
  { port: 443, protocol: 6, weight: 46, meanBytes: 180_000, pktSize: 1200 },
  { port: 443, protocol: 17, weight: 10, meanBytes: 250_000, pktSize: 1250 }, // QUIC
  { port: 80, protocol: 6, weight: 8, meanBytes: 90_000, pktSize: 1000 },
  { port: 53, protocol: 17, weight: 14, meanBytes: 180, pktSize: 90 },
  { port: 123, protocol: 17, weight: 2, meanBytes: 152, pktSize: 76 },
  { port: 22, protocol: 6, weight: 3, meanBytes: 40_000, pktSize: 300 },
  { port: 993, protocol: 6, weight: 3, meanBytes: 30_000, pktSize: 700 },
  { port: 25, protocol: 6, weight: 1, meanBytes: 25_000, pktSize: 800 },
  { port: 3389, protocol: 6, weight: 2, meanBytes: 400_000, pktSize: 900 },
  { port: 5060, protocol: 17, weight: 1, meanBytes: 2_000, pktSize: 400 },
  { port: 8080, protocol: 6, weight: 3, meanBytes: 60_000, pktSize: 1000 },
  { port: 1194, protocol: 17, weight: 2, meanBytes: 800_000, pktSize: 1300 },
  { port: 0, protocol: 1, weight: 2, meanBytes: 168, pktSize: 84 }, // ICMP echo
  { port: 445, protocol: 6, weight: 3, meanBytes: 300_000, pktSize: 1400 },
];

export interface TrafficOptions {
  seed?: number;
  internalHosts?: number;
  externalHosts?: number;
  exporter?: string;
}

export interface TrafficModel {
  /** One flow ending at `endMs`; both directions of a conversation are separate flows, as routers export them. */
  flow(endMs: number): FlowRecord;
  /** Relative activity at a time of day, 0.25 at night to 1 in the afternoon (UTC). */
  rhythm(ms: number): number;
}

export function trafficModel(opts: TrafficOptions = {}): TrafficModel {
  const rand = rng(opts.seed ?? 1);
  const nIn = opts.internalHosts ?? 400;
  const nOut = opts.externalHosts ?? 3000;
  const pickIn = zipf(nIn, 1.1);
  const pickOut = zipf(nOut, 0.9);
  const totalWeight = SERVICES.reduce((s, x) => s + x.weight, 0);
  const internal = Array.from({ length: nIn }, (_, i) => `10.${20 + (i >> 8)}.${i & 255}.${10 + (i % 200)}`);
  const external = Array.from({ length: nOut }, () => publicAddress(rand));
  const exporter = opts.exporter ?? '127.0.0.1';

  const pickService = (): Service => {
    let u = rand() * totalWeight;
    for (const s of SERVICES) { if ((u -= s.weight) <= 0) return s; }
    return SERVICES[0]!;
  };
  // Pareto with shape 1.3: most flows are small, a few carry most bytes.
  const flowBytes = (mean: number) => Math.max(40, Math.round(mean * 0.3 / Math.pow(1 - rand(), 1 / 1.3)));

  return {
    rhythm(ms) {
      const hour = (ms / 3_600_000) % 24;
      return 0.25 + 0.75 * Math.max(0, Math.sin(((hour - 6) / 24) * 2 * Math.PI));
    },
    flow(endMs) {
      const svc = pickService();
      const client = internal[pickIn(rand())]!;
      const server = external[pickOut(rand())]!;
      const download = svc.protocol !== 1 && rand() < 0.6;
      const bytes = flowBytes(download ? svc.meanBytes : svc.meanBytes / 12);
      const packets = Math.max(1, Math.round(bytes / (download ? svc.pktSize : Math.min(svc.pktSize, 120))));
      const duration = Math.min(120_000, Math.round(packets * (5 + rand() * 40)));
      const ephemeral = 32768 + Math.floor(rand() * 28000);
      const r = emptyRecord();
      r.timestamp = endMs;
      r.flow_start = endMs - duration;
      r.time_received = endMs;
      r.protocol = svc.protocol;
      r.bytes = bytes;
      r.packets = packets;
      r.exporter = exporter;
      r.ip_version = 4;
      r.flow_version = 9;
      r.tos = rand() < 0.1 ? 0xb8 : 0;
      if (svc.protocol === 6) r.tcp_flags = 0x1b; // FIN PSH ACK SYN: a whole connection
      if (download) {
        r.src_ip = server; r.dst_ip = client; r.src_port = svc.port; r.dst_port = ephemeral;
        r.input_if = 2; r.output_if = 1; r.src_as = asOf(server);
      } else {
        r.src_ip = client; r.dst_ip = server; r.src_port = ephemeral; r.dst_port = svc.port;
        r.input_if = 1; r.output_if = 2; r.dst_as = asOf(server);
      }
      if (svc.protocol === 1) { r.src_port = 0; r.dst_port = 8 << 8; } // ICMP type 8 code 0, as v9 exports it
      r.src_mask = r.input_if === 1 ? 24 : 0;
      r.dst_mask = r.output_if === 1 ? 24 : 0;
      r.next_hop = r.output_if === 2 ? '10.255.0.1' : '';
      return r;
    },
  };
}

// Public-looking addresses outside private, loopback, multicast and reserved space.
function publicAddress(rand: () => number): string {
  for (;;) {
    const a = 1 + Math.floor(rand() * 222);
    if (a === 10 || a === 127 || a === 100 || a === 169 || a === 172 || a === 192 || a === 0) continue;
    return `${a}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.${1 + Math.floor(rand() * 254)}`;
  }
}

// A stable pseudo AS number per /8, so AS grouping shows a handful of big networks.
function asOf(ip: string): number {
  const first = Number(ip.slice(0, ip.indexOf('.')));
  return 64512 + (first * 37) % 900;
}
