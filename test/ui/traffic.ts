// The browser tests' traffic: a packet capture of known conversations
// (Ethernet / IPv4 / TCP, UDP, ICMP) for softflowd to turn into NetFlow v9,
// and what every source sent, worked out from the packets themselves (the
// sum of their IPv4 total lengths, which is what a flow's octets count).

export interface Conversation {
  src: string; dst: string; protocol: 1 | 6 | 17; srcPort: number; dstPort: number;
  packets: number;
  /** IPv4 total length of each packet */
  ipLength: number;
  /** when its packets are sent, as fractions [from, to) of the capture's span; default the whole span */
  window?: [number, number];
}

/** Distinct volumes, so the ranking is unambiguous; a few sources talk to more than one port. */
export const CONVERSATIONS: readonly Conversation[] = [
  { src: '10.20.0.11', dst: '198.51.100.10', protocol: 6, srcPort: 50111, dstPort: 443, packets: 420, ipLength: 1400 },
  { src: '10.20.0.11', dst: '198.51.100.11', protocol: 17, srcPort: 50112, dstPort: 53, packets: 40, ipLength: 90 },
  { src: '10.20.0.12', dst: '198.51.100.20', protocol: 6, srcPort: 50121, dstPort: 80, packets: 300, ipLength: 1200 },
  { src: '10.20.0.13', dst: '198.51.100.30', protocol: 17, srcPort: 50131, dstPort: 1194, packets: 260, ipLength: 1000 },
  { src: '10.20.0.14', dst: '198.51.100.40', protocol: 6, srcPort: 50141, dstPort: 22, packets: 200, ipLength: 700 },
  { src: '10.20.0.15', dst: '198.51.100.50', protocol: 17, srcPort: 50151, dstPort: 123, packets: 150, ipLength: 76 },
  { src: '10.20.0.16', dst: '198.51.100.60', protocol: 1, srcPort: 0, dstPort: 0, packets: 120, ipLength: 84 },
  { src: '198.51.100.10', dst: '10.20.0.11', protocol: 6, srcPort: 443, dstPort: 50111, packets: 210, ipLength: 52 },
];

export interface SourceTotals { bytes: number; packets: number }

/** Bytes and packets per source address, from the conversation table. */
export function totalsBySource(convs: readonly Conversation[]): Map<string, SourceTotals> {
  const out = new Map<string, SourceTotals>();
  for (const c of convs) {
    const t = out.get(c.src) ?? { bytes: 0, packets: 0 };
    out.set(c.src, { bytes: t.bytes + c.packets * c.ipLength, packets: t.packets + c.packets });
  }
  return out;
}

const ipBytes = (ip: string) => ip.split('.').map(Number);

function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function frame(c: Conversation, seq: number): Uint8Array {
  const f = new Uint8Array(14 + c.ipLength);
  const v = new DataView(f.buffer);
  f.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01], 0);
  v.setUint16(12, 0x0800);
  const ip = f.subarray(14, 34);
  ip[0] = 0x45;
  v.setUint16(16, c.ipLength);
  v.setUint16(18, seq & 0xffff);
  ip[8] = 64;
  ip[9] = c.protocol;
  ip.set(ipBytes(c.src), 12);
  ip.set(ipBytes(c.dst), 16);
  v.setUint16(24, checksum(ip));
  const l4 = 34;
  if (c.protocol === 6) {
    v.setUint16(l4, c.srcPort); v.setUint16(l4 + 2, c.dstPort);
    v.setUint32(l4 + 4, seq * 1000); v.setUint32(l4 + 8, 1);
    f[l4 + 12] = 0x50; f[l4 + 13] = 0x18; // data offset 5 words; PSH+ACK
    v.setUint16(l4 + 14, 65535);
  } else if (c.protocol === 17) {
    v.setUint16(l4, c.srcPort); v.setUint16(l4 + 2, c.dstPort); v.setUint16(l4 + 4, c.ipLength - 20);
  } else {
    f[l4] = 8; v.setUint16(l4 + 4, 1); v.setUint16(l4 + 6, seq & 0xffff); // echo request
  }
  return f;
}

/**
 * A classic pcap (microseconds, Ethernet) of the conversations, their packets
 * interleaved and spread evenly over [startMs, startMs + spanMs).
 */
export function capture(convs: readonly Conversation[], startMs: number, spanMs: number): Uint8Array {
  const packets: { ts: number; data: Uint8Array }[] = [];
  convs.forEach((c, ci) => {
    const [from, to] = c.window ?? [0, 1];
    for (let i = 0; i < c.packets; i++) {
      packets.push({ ts: startMs + (from + ((i + ci / convs.length) / c.packets) * (to - from)) * spanMs, data: frame(c, i) });
    }
  });
  packets.sort((a, b) => a.ts - b.ts);
  const size = 24 + packets.reduce((s, p) => s + 16 + p.data.length, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xa1b2c3d4, true); v.setUint16(4, 2, true); v.setUint16(6, 4, true);
  v.setUint32(16, 65535, true); v.setUint32(20, 1, true);
  let o = 24;
  for (const p of packets) {
    const us = Math.round(p.ts * 1000);
    v.setUint32(o, Math.floor(us / 1e6), true); v.setUint32(o + 4, us % 1e6, true);
    v.setUint32(o + 8, p.data.length, true); v.setUint32(o + 12, p.data.length, true);
    out.set(p.data, o + 16);
    o += 16 + p.data.length;
  }
  return out;
}

/**
 * Each conversation cut into `pieces` short flows one after the other (new
 * source ports; ICMP keeps its own), their sizes rising and falling like a
 * working day, so a traffic chart has a shape. Packets per source are
 * unchanged: the pieces' counts add up exactly.
 */
export function spread(convs: readonly Conversation[], pieces: number): Conversation[] {
  const weights = Array.from({ length: pieces }, (_, i) => 1.5 + Math.sin((i / pieces) * 2 * Math.PI) + 0.4 * Math.sin(i * 1.7));
  const sumW = weights.reduce((a, b) => a + b, 0);
  return convs.flatMap((c) => {
    // Largest remainder, so the counts are whole and still sum to c.packets.
    const raw = weights.map((w) => (w / sumW) * c.packets);
    const counts = raw.map(Math.floor);
    const order = raw.map((r, i) => [r - Math.floor(r), i] as const).sort((a, b) => b[0] - a[0]);
    const missing = c.packets - counts.reduce((a, b) => a + b, 0);
    for (let k = 0; k < missing; k++) counts[order[k][1]]++;
    return counts.flatMap((n, i) => (n === 0 ? [] : [{
      ...c,
      packets: n,
      srcPort: c.protocol === 1 || c.srcPort === 443 ? c.srcPort : c.srcPort + i,
      dstPort: c.srcPort === 443 ? c.dstPort + i : c.dstPort,
      window: [i / pieces, (i + 0.8) / pieces] as [number, number],
    }]));
  });
}

/** The same conversations with every packet count scaled (a busier or quieter day). */
export function scaled(convs: readonly Conversation[], factor: number): Conversation[] {
  return convs.map((c) => ({ ...c, packets: Math.max(1, Math.round(c.packets * factor)) }));
}

export function totalBytes(convs: readonly Conversation[]): number {
  return convs.reduce((s, c) => s + c.packets * c.ipLength, 0);
}

/**
 * Past days for the historical view: days before today with their volume
 * factor. One day carries six times the usual traffic: the spike the view
 * must mark. The others stay within ±30 %, far under any k >= 2 threshold.
 */
export const HISTORY: readonly { daysAgo: number; factor: number }[] = [
  { daysAgo: 12, factor: 1.2 }, { daysAgo: 11, factor: 0.9 }, { daysAgo: 10, factor: 1.1 }, { daysAgo: 9, factor: 1 },
  { daysAgo: 8, factor: 0.8 }, { daysAgo: 7, factor: 1.3 }, { daysAgo: 6, factor: 1 }, { daysAgo: 5, factor: 6 },
  { daysAgo: 4, factor: 1.1 }, { daysAgo: 3, factor: 0.9 }, { daysAgo: 2, factor: 1.2 }, { daysAgo: 1, factor: 1 },
];
export const SPIKE_DAYS_AGO = 5;
