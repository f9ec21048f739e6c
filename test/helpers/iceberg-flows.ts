// Realistic flow records for the cold-tier tests and benchmark: a seeded
// generator (same seed, same records) with enterprise-like distributions:
// a few thousand internal clients, popular external servers drawn with a
// heavy-tailed (Zipf-like) choice, mostly TCP 443/80 and UDP 53/123,
// ephemeral client ports, log-normal byte counts, both directions, four
// exporters, some of them sampled.
import { emptyRecord, type FlowRecord } from '../../common/flow.js';

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    // xorshift32: small, fast, good enough for test data.
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
}

export interface FlowOptions {
  seed?: number;
  startMs: number;
  /** Flows per second of simulated time: sets the timestamp spacing. */
  ratePerSecond?: number;
}

/** Generates `n` records with timestamps increasing from startMs. */
export function makeFlows(n: number, opts: FlowOptions): FlowRecord[] {
  const rand = rng(opts.seed ?? 1);
  const zipf = (size: number) => Math.min(size - 1, Math.floor(size * rand() ** 3));
  const clients = Array.from({ length: 3000 }, (_, i) => `10.${10 + (i >> 12)}.${(i >> 8) & 15}.${i & 255}`);
  const servers = Array.from({ length: 20000 }, () => `${1 + Math.floor(rand() * 222)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.${1 + Math.floor(rand() * 254)}`);
  const serverAs = servers.map(() => [15169, 16509, 13335, 8075, 32934, 20940][Math.floor(rand() * 6)]! + (rand() < 0.3 ? Math.floor(rand() * 50000) : 0));
  const v6clients = Array.from({ length: 300 }, (_, i) => `2001:db8:10::${(i + 1).toString(16)}`);
  const v6servers = Array.from({ length: 2000 }, () => `2606:4700:${Math.floor(rand() * 65536).toString(16)}::${Math.floor(rand() * 65536).toString(16)}`);
  const exporters = [
    { addr: '192.0.2.1', rate: 1, nextHop: '192.0.2.254', source: 0 },
    { addr: '192.0.2.2', rate: 1, nextHop: '192.0.2.253', source: 1 },
    { addr: '192.0.2.3', rate: 100, nextHop: '198.51.100.1', source: 256 },
    { addr: '192.0.2.4', rate: 1000, nextHop: '198.51.100.2', source: 257 },
  ];
  const services: [number, number, number][] = [[6, 443, 55], [6, 80, 12], [17, 53, 14], [17, 443, 6], [17, 123, 3], [6, 22, 2], [6, 3389, 1], [1, 0, 2], [6, 8080, 2], [17, 5353, 3]];
  const weightSum = services.reduce((n, s) => n + s[2], 0);
  const pickService = () => {
    let x = rand() * weightSum;
    for (const s of services) { x -= s[2]; if (x < 0) return s; }
    return services[0]!;
  };
  // Records arrive in export datagrams: up to 30 records from one exporter
  // sharing the datagram's receive time, each ending shortly before it.
  const spacing = 1000 / (opts.ratePerSecond ?? 1000);
  const out: FlowRecord[] = new Array(n);
  let exp = exporters[0]!;
  let received = 0;
  for (let i = 0; i < n; i++) {
    if (i % 30 === 0) {
      exp = exporters[Math.floor(rand() * exporters.length)]!;
      received = Math.floor(opts.startMs + (i + 30) * spacing) + 20 + Math.floor(rand() * 200);
    }
    const r = emptyRecord();
    const v6 = rand() < 0.1;
    const [proto, port] = pickService();
    const si = zipf(v6 ? v6servers.length : servers.length);
    const client = v6 ? v6clients[zipf(v6clients.length)]! : clients[zipf(clients.length)]!;
    const server = v6 ? v6servers[si]! : servers[si]!;
    const clientPort = proto === 1 ? 0 : 32768 + Math.floor(rand() * 28232);
    const outbound = rand() < 0.5;
    const packets = 1 + Math.floor(Math.exp(rand() * 6));
    const bytes = packets * (40 + Math.floor(rand() * (proto === 17 ? 512 : 1460)));
    const end = Math.floor(opts.startMs + i * spacing);
    // Short flows end by the inactive timeout, long ones by the active timeout (60 s).
    const duration = rand() < 0.7 ? Math.floor(rand() * 2000) : Math.floor(rand() * 60_000);
    r.timestamp = end;
    r.src_ip = outbound ? client : server;
    r.dst_ip = outbound ? server : client;
    r.src_port = outbound ? clientPort : port;
    r.dst_port = outbound ? port : clientPort;
    r.protocol = proto;
    r.bytes = bytes;
    r.packets = packets;
    r.exporter = exp.addr;
    r.source_id = exp.source;
    r.input_if = outbound ? 1 : 2 + (si % 3);
    r.output_if = outbound ? 2 + (si % 3) : 1;
    r.tcp_flags = proto === 6 ? [0x1b, 0x1b, 0x1a, 0x02, 0x13, 0x1f][Math.floor(rand() * 6)]! : 0;
    r.tos = rand() < 0.9 ? 0 : 0xb8;
    r.src_as = outbound ? 64512 : serverAs[si % serverAs.length]!;
    r.dst_as = outbound ? serverAs[si % serverAs.length]! : 64512;
    r.src_mask = v6 ? (outbound ? 64 : 48) : outbound ? 24 : 16;
    r.dst_mask = v6 ? (outbound ? 48 : 64) : outbound ? 16 : 24;
    r.next_hop = exp.nextHop;
    r.sampling_rate = exp.rate;
    r.flow_start = end - duration;
    r.ip_version = v6 ? 6 : 4;
    r.flow_version = exp.source >= 256 ? 5 : 9;
    r.time_received = Math.max(received, end);
    out[i] = r;
  }
  return out;
}
