// Classic libpcap files: reading (either byte order, micro- or nanosecond
// timestamps; Ethernet with VLAN tags, Linux cooked v1/v2, raw IP, BSD loopback)
// down to the UDP payloads, and writing Ethernet/IPv4|IPv6/UDP captures for tests.
import { ip4, ip6, parseIp } from './decoder/ip.js';

export class PcapError extends Error {}

export interface PcapPacket {
  /** Capture time, ms since the epoch (fractional). */
  tsMs: number;
  /** The bytes captured (may be fewer than were on the wire). */
  data: Uint8Array;
  wireLength: number;
}

export interface UdpDatagram {
  /** 1-based frame number in the file, as tshark counts. */
  frame: number;
  tsMs: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
  /** The capture cut the datagram short (snap length). */
  truncated: boolean;
}

const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;
const PCAPNG = 0x0a0d0d0a;

export const LINKTYPE = { NULL: 0, ETHERNET: 1, RAW: 101, LOOP: 108, LINUX_SLL: 113, IPV4: 228, IPV6: 229, LINUX_SLL2: 276 } as const;

export class PcapReader {
  readonly linkType: number;
  readonly nanoseconds: boolean;
  private readonly view: DataView;
  private readonly little: boolean;

  /** Checks the file header; throws PcapError with the reason when it is not a classic pcap. */
  constructor(private readonly bytes: Uint8Array) {
    if (bytes.length < 24) throw new PcapError(`not a pcap file: ${bytes.length} bytes, shorter than the 24-byte file header`);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const be = this.view.getUint32(0, false);
    const le = this.view.getUint32(0, true);
    if (be === PCAPNG) throw new PcapError('this is a pcapng file; convert it with: editcap -F pcap IN.pcapng OUT.pcap');
    if (be === MAGIC_US || be === MAGIC_NS) this.little = false;
    else if (le === MAGIC_US || le === MAGIC_NS) this.little = true;
    else throw new PcapError(`not a pcap file: unknown magic number 0x${be.toString(16).padStart(8, '0')}`);
    this.nanoseconds = (this.little ? le : be) === MAGIC_NS;
    this.linkType = this.view.getUint32(20, this.little) & 0x0fffffff;
  }

  /** Every record in order; throws PcapError if the file ends inside one (after yielding those before it). */
  *packets(): Generator<PcapPacket> {
    const v = this.view;
    const n = this.bytes.length;
    let frame = 0;
    for (let p = 24; p < n;) {
      frame++;
      if (p + 16 > n) throw new PcapError(`capture is cut short: ${n - p} bytes of a record header after frame ${frame - 1}`);
      const sec = v.getUint32(p, this.little);
      const frac = v.getUint32(p + 4, this.little);
      const caplen = v.getUint32(p + 8, this.little);
      const wireLength = v.getUint32(p + 12, this.little);
      if (caplen > 0x4000000) throw new PcapError(`frame ${frame}: captured length ${caplen} is not plausible; the file is damaged`);
      if (p + 16 + caplen > n) throw new PcapError(`capture is cut short inside frame ${frame}`);
      yield { tsMs: sec * 1000 + (this.nanoseconds ? frac / 1e6 : frac / 1e3), data: this.bytes.subarray(p + 16, p + 16 + caplen), wireLength };
      p += 16 + caplen;
    }
  }

  /** The UDP datagrams of the capture (other packets are skipped). */
  *udp(): Generator<UdpDatagram> {
    let frame = 0;
    for (const pkt of this.packets()) {
      frame++;
      const d = udpOf(this.linkType, pkt.data, this.little);
      if (d) yield { frame, tsMs: pkt.tsMs, ...d };
    }
  }
}

type Udp = Omit<UdpDatagram, 'frame' | 'tsMs'>;

/** Offset of the IP packet inside a link-layer frame, or -1 when it carries none. */
function ipStart(linkType: number, f: Uint8Array, little: boolean): number {
  const u16 = (p: number) => (f[p]! << 8) | f[p + 1]!;
  let p: number;
  let ethertype: number;
  switch (linkType) {
    case LINKTYPE.ETHERNET:
      p = 12;
      ethertype = u16(p);
      // 802.1Q / 802.1ad / QinQ tags.
      while ((ethertype === 0x8100 || ethertype === 0x88a8 || ethertype === 0x9100) && p + 6 <= f.length) { p += 4; ethertype = u16(p); }
      p += 2;
      break;
    case LINKTYPE.LINUX_SLL: p = 16; ethertype = u16(14); break;
    case LINKTYPE.LINUX_SLL2: p = 20; ethertype = u16(0); break;
    case LINKTYPE.NULL: case LINKTYPE.LOOP: {
      if (f.length < 4) return -1;
      const fam = linkType === LINKTYPE.LOOP || !little
        ? ((f[0]! << 24) | (f[1]! << 16) | (f[2]! << 8) | f[3]!) >>> 0
        : ((f[3]! << 24) | (f[2]! << 16) | (f[1]! << 8) | f[0]!) >>> 0;
      return fam === 2 || fam === 24 || fam === 28 || fam === 30 ? 4 : -1;
    }
    case LINKTYPE.RAW: case 12: case 14: case LINKTYPE.IPV4: case LINKTYPE.IPV6: return 0;
    default: return -1;
  }
  if (p > f.length) return -1;
  return ethertype === 0x0800 || ethertype === 0x86dd ? p : -1;
}

function udpOf(linkType: number, f: Uint8Array, little: boolean): Udp | null {
  const p = ipStart(linkType, f, little);
  if (p < 0 || p >= f.length) return null;
  const version = f[p]! >> 4;
  let udp: number;
  let src: string, dst: string;
  if (version === 4) {
    if (p + 20 > f.length) return null;
    const ihl = (f[p]! & 0x0f) * 4;
    const fragment = ((f[p + 6]! << 8) | f[p + 7]!) & 0x3fff; // more-fragments flag and offset
    if (f[p + 9] !== 17 || fragment !== 0 || ihl < 20) return null;
    src = ip4(f, p + 12);
    dst = ip4(f, p + 16);
    udp = p + ihl;
  } else if (version === 6) {
    if (p + 40 > f.length) return null;
    src = ip6(f, p + 8);
    dst = ip6(f, p + 24);
    let next = f[p + 6]!;
    udp = p + 40;
    // Hop-by-hop, routing and destination options headers; fragments are not reassembled.
    while ((next === 0 || next === 43 || next === 60) && udp + 8 <= f.length) { next = f[udp]!; udp += (f[udp + 1]! + 1) * 8; }
    if (next !== 17) return null;
  } else return null;
  if (udp + 8 > f.length) return null;
  const srcPort = (f[udp]! << 8) | f[udp + 1]!;
  const dstPort = (f[udp + 2]! << 8) | f[udp + 3]!;
  const udpLength = (f[udp + 4]! << 8) | f[udp + 5]!;
  if (udpLength < 8) return null;
  const end = udp + udpLength;
  return { src, dst, srcPort, dstPort, payload: f.subarray(udp + 8, Math.min(end, f.length)), truncated: end > f.length };
}

// ---- writing ----

export interface UdpFrame { tsMs: number; src: string; dst: string; srcPort: number; dstPort: number; payload: Uint8Array }

function checksum(parts: Uint8Array[]): number {
  let sum = 0;
  for (const b of parts) {
    for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
    if (b.length % 2) sum += b[b.length - 1]! << 8;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An Ethernet frame carrying one UDP datagram over IPv4 or IPv6 (by the address family). */
export function udpEthernetFrame(d: Omit<UdpFrame, 'tsMs'>): Uint8Array {
  const src = parseIp(d.src);
  const dst = parseIp(d.dst);
  if (src.length !== dst.length) throw new Error('source and destination must be the same IP version');
  const v6 = src.length === 16;
  const udpLen = 8 + d.payload.length;
  const ipLen = v6 ? 40 : 20;
  const f = new Uint8Array(14 + ipLen + udpLen);
  f.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01], 0);
  f[12] = v6 ? 0x86 : 0x08; f[13] = v6 ? 0xdd : 0x00;
  const ip = f.subarray(14, 14 + ipLen);
  if (v6) {
    ip[0] = 0x60; ip[4] = udpLen >> 8; ip[5] = udpLen & 0xff; ip[6] = 17; ip[7] = 64;
    ip.set(src, 8); ip.set(dst, 24);
  } else {
    const total = 20 + udpLen;
    ip[0] = 0x45; ip[2] = total >> 8; ip[3] = total & 0xff; ip[8] = 64; ip[9] = 17;
    ip.set(src, 12); ip.set(dst, 16);
    const c = checksum([ip]);
    ip[10] = c >> 8; ip[11] = c & 0xff;
  }
  const u = f.subarray(14 + ipLen);
  u[0] = d.srcPort >> 8; u[1] = d.srcPort & 0xff; u[2] = d.dstPort >> 8; u[3] = d.dstPort & 0xff;
  u[4] = udpLen >> 8; u[5] = udpLen & 0xff;
  u.set(d.payload, 8);
  const pseudo = new Uint8Array(src.length * 2 + 4);
  pseudo.set(src, 0); pseudo.set(dst, src.length); pseudo[pseudo.length - 3] = 17;
  pseudo[pseudo.length - 2] = udpLen >> 8; pseudo[pseudo.length - 1] = udpLen & 0xff;
  const c = checksum([pseudo, u]) || 0xffff;
  u[6] = c >> 8; u[7] = c & 0xff;
  return f;
}

/** A classic pcap file (little-endian, microseconds, Ethernet) of UDP datagrams. */
export function writePcap(frames: readonly UdpFrame[]): Uint8Array {
  const bodies = frames.map((d) => udpEthernetFrame(d));
  const out = new Uint8Array(24 + bodies.reduce((n, b) => n + 16 + b.length, 0));
  const v = new DataView(out.buffer);
  v.setUint32(0, MAGIC_US, true);
  v.setUint16(4, 2, true); v.setUint16(6, 4, true);
  v.setUint32(16, 65535, true); v.setUint32(20, LINKTYPE.ETHERNET, true);
  let p = 24;
  bodies.forEach((b, i) => {
    const ms = frames[i]!.tsMs;
    const sec = Math.floor(ms / 1000);
    v.setUint32(p, sec, true); v.setUint32(p + 4, Math.round((ms - sec * 1000) * 1000), true);
    v.setUint32(p + 8, b.length, true); v.setUint32(p + 12, b.length, true);
    out.set(b, p + 16);
    p += 16 + b.length;
  });
  return out;
}
