// IP addresses and CIDR blocks as the query side validates and compares them:
// always 16 bytes, IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d), so one ordered
// range [lo, hi] answers a CIDR filter for either family on every engine.
import { isIPv4, isIPv6 } from 'node:net';

export interface IpNet {
  /** Canonical text: an address, or address/prefix when it is a block. */
  text: string;
  version: 4 | 6;
  /** First and last address of the block, 16 bytes each. */
  lo: Uint8Array;
  hi: Uint8Array;
}

const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** 16 bytes of an IPv4 or IPv6 address, or undefined when `text` is neither. */
export function ipBytes(text: string): Uint8Array | undefined {
  if (isIPv4(text)) return Uint8Array.from([...MAPPED_PREFIX, ...text.split('.').map(Number)]);
  if (!isIPv6(text) || text.includes('%')) return undefined;
  // A trailing dotted quad ("::ffff:1.2.3.4") stands for the last two words.
  const body = text.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a, b, c, d) =>
    `${((+a << 8) | +b).toString(16)}:${((+c << 8) | +d).toString(16)}`);
  const split = (s: string) => (s === '' ? [] : s.split(':'));
  const halves = body.split('::');
  let groups = split(halves[0]!);
  if (halves.length === 2) {
    const rest = split(halves[1]!);
    groups = [...groups, ...Array(8 - groups.length - rest.length).fill('0'), ...rest];
  }
  const words = groups.map((g) => parseInt(g, 16));
  if (words.length !== 8 || words.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffff)) return undefined;
  const out = new Uint8Array(16);
  words.forEach((w, i) => { out[2 * i] = w >> 8; out[2 * i + 1] = w & 0xff; });
  return out;
}

export function isMappedV4(b: Uint8Array): boolean {
  return MAPPED_PREFIX.every((v, i) => b[i] === v);
}

/** Canonical text of 16 address bytes: dotted quad for IPv4-mapped, RFC 5952 for IPv6. */
export function ipText(b: Uint8Array): string {
  if (isMappedV4(b)) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const words = Array.from({ length: 8 }, (_, i) => (b[2 * i]! << 8) | b[2 * i + 1]!);
  // The longest run of two or more zero words becomes "::" (the first one on ties).
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (best < 0) return hex(words);
  return `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLen))}`;
}

/** Parses an address or CIDR block ("10.0.0.0/8", "2001:db8::/32"); throws with the reason. */
export function parseIpNet(text: string): IpNet {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const addr = ipBytes(addrText);
  if (!addr) throw new Error(`"${text}" is not an IP address or CIDR block`);
  const version: 4 | 6 = isIPv4(addrText) ? 4 : 6;
  const width = version === 4 ? 32 : 128;
  let prefix = width;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > width) throw new Error(`"${text}": prefix length must be 0-${width}`);
    prefix = Number(p);
  }
  // Prefix bits count from the start of the 16 bytes; an IPv4 prefix starts after the 96 mapped bits.
  const bits = version === 4 ? 96 + prefix : prefix;
  const lo = new Uint8Array(16), hi = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, bits - 8 * i));
    const mask = keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
    lo[i] = addr[i]! & mask;
    hi[i] = (addr[i]! & mask) | (~mask & 0xff);
  }
  const isBlock = prefix < width;
  return { text: isBlock ? `${ipText(lo)}/${prefix}` : ipText(addr), version, lo, hi };
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
