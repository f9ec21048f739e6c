// checker/pcap.ts against tshark: the same UDP datagrams found in captures of
// every byte order, timestamp precision and link type the reader claims, with
// packets it must skip (TCP, IP fragments) in between.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LINKTYPE, PcapError, PcapReader, udpEthernetFrame, writePcap } from '../../checker/pcap.js';
import { tempDir } from '../helpers/process.js';

const T = 1_700_000_000_123; // ms
const payload = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff);
const DATAGRAMS = [
  { src: '192.0.2.10', dst: '192.0.2.1', srcPort: 40000, dstPort: 2055, payload: payload(100) },
  { src: '2001:db8::10', dst: '2001:db8::1', srcPort: 40001, dstPort: 9995, payload: payload(333) },
  { src: '198.51.100.77', dst: '192.0.2.1', srcPort: 53, dstPort: 5353, payload: payload(1) },
];

/** The IP packets (no link layer) of the datagrams, plus a TCP segment and an IPv4 fragment to be skipped. */
function ipPackets(): Uint8Array[] {
  const ips = DATAGRAMS.map((d) => udpEthernetFrame(d).subarray(14));
  const tcp = new Uint8Array(ips[0]!); tcp[9] = 6; // protocol TCP
  const frag = new Uint8Array(ips[0]!); frag[6] = 0x20; // more fragments
  // IPv6 with a hop-by-hop options header (8 bytes) before UDP.
  const v6 = ips[1]!;
  const hop = new Uint8Array(v6.length + 8);
  hop.set(v6.subarray(0, 40)); hop[6] = 0; hop[40] = 17; hop[41] = 0; hop.set(v6.subarray(40), 48);
  const plen = v6.length - 40 + 8; hop[4] = plen >> 8; hop[5] = plen & 0xff;
  return [ips[0]!, tcp, hop, frag, ips[2]!];
}

function linkFrame(linkType: number, ip: Uint8Array, little: boolean): Uint8Array {
  const v6 = ip[0]! >> 4 === 6;
  const cat = (head: number[], body: Uint8Array) => { const out = new Uint8Array(head.length + body.length); out.set(head); out.set(body, head.length); return out; };
  const et = v6 ? [0x86, 0xdd] : [0x08, 0x00];
  switch (linkType) {
    case LINKTYPE.ETHERNET: // with an 802.1Q tag
      return cat([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x81, 0x00, 0x00, 0x64, ...et], ip);
    case LINKTYPE.LINUX_SLL: return cat([0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 2, 0, 0, ...et], ip);
    case LINKTYPE.LINUX_SLL2: return cat([...et, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 2, 0, 0], ip);
    case LINKTYPE.RAW: return ip;
    case LINKTYPE.NULL: { const fam = v6 ? 30 : 2; return cat(little ? [fam, 0, 0, 0] : [0, 0, 0, fam], ip); }
    default: throw new Error(`no frame builder for link type ${linkType}`);
  }
}

function pcapFile(linkType: number, little: boolean, nanos: boolean): Uint8Array {
  const frames = ipPackets().map((ip) => linkFrame(linkType, ip, little));
  const out = new Uint8Array(24 + frames.reduce((n, f) => n + 16 + f.length, 0));
  const v = new DataView(out.buffer);
  v.setUint32(0, nanos ? 0xa1b23c4d : 0xa1b2c3d4, little);
  v.setUint16(4, 2, little); v.setUint16(6, 4, little); v.setUint32(16, 65535, little); v.setUint32(20, linkType, little);
  let p = 24;
  frames.forEach((f, i) => {
    const ms = T + i * 1000;
    const sec = Math.floor(ms / 1000);
    v.setUint32(p, sec, little);
    v.setUint32(p + 4, nanos ? (ms - sec * 1000) * 1e6 + 456 : (ms - sec * 1000) * 1000, little);
    v.setUint32(p + 8, f.length, little); v.setUint32(p + 12, f.length, little);
    out.set(f, p + 16);
    p += 16 + f.length;
  });
  return out;
}

/** What tshark finds: frame number, time (µs), source, ports and UDP payload length of each UDP datagram. */
function tsharkUdp(file: string): string[] {
  const out = execFileSync('tshark', ['-r', file, '-Y', 'udp && !(ip.flags.mf == 1)', '-T', 'fields', '-E', 'separator=,',
    '-e', 'frame.number', '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'udp.srcport', '-e', 'udp.dstport', '-e', 'udp.length'], { stdio: ['ignore', 'pipe', 'ignore'] });
  return out.toString().trim().split('\n').map((l) => {
    const [frame, time, v4, v6, sp, dp, len] = l.split(',');
    return [frame, time!.slice(0, time!.indexOf('.') + 7), v4 || v6, sp, dp, Number(len) - 8].join(' ');
  });
}

function ours(bytes: Uint8Array): string[] {
  return [...new PcapReader(bytes).udp()].map((d) => [d.frame, (d.tsMs / 1000).toFixed(6), d.src, d.srcPort, d.dstPort, d.payload.length].join(' '));
}

test('every byte order, timestamp precision and link type gives the datagrams tshark finds', () => {
  const dir = tempDir('pcap');
  try {
    for (const linkType of [LINKTYPE.ETHERNET, LINKTYPE.LINUX_SLL, LINKTYPE.LINUX_SLL2, LINKTYPE.RAW, LINKTYPE.NULL]) {
      for (const little of [true, false]) {
        for (const nanos of [false, true]) {
          const bytes = pcapFile(linkType, little, nanos);
          const file = join(dir.path, `l${linkType}-${little ? 'le' : 'be'}-${nanos ? 'ns' : 'us'}.pcap`);
          writeFileSync(file, bytes);
          const mine = ours(bytes);
          assert.equal(mine.length, 3, file);
          assert.deepEqual(mine, tsharkUdp(file), file);
          // The payload bytes themselves.
          const payloads = [...new PcapReader(bytes).udp()].map((d) => Buffer.from(d.payload).toString('hex'));
          assert.deepEqual(payloads, DATAGRAMS.map((d) => Buffer.from(d.payload).toString('hex')), file);
        }
      }
    }
    const written = join(dir.path, 'written.pcap');
    writeFileSync(written, writePcap(DATAGRAMS.map((d, i) => ({ ...d, tsMs: T + i }))));
    assert.deepEqual(ours(writePcap(DATAGRAMS.map((d, i) => ({ ...d, tsMs: T + i })))), tsharkUdp(written));
    // tshark checks the checksums our writer computes.
    const bad = execFileSync('tshark', ['-r', written, '-o', 'udp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-Y', 'udp.checksum.status == "Bad" || ip.checksum.status == "Bad"'], { stdio: ['ignore', 'pipe', 'ignore'] });
    assert.equal(bad.toString().trim(), '');
  } finally {
    dir.remove();
  }
});

test('a file that is not a classic pcap says what it is', () => {
  assert.throws(() => new PcapReader(new Uint8Array(10)), (e: unknown) => e instanceof PcapError && /shorter than the 24-byte file header/.test((e as Error).message));
  const ng = new Uint8Array(28); ng.set([0x0a, 0x0d, 0x0d, 0x0a]);
  assert.throws(() => new PcapReader(ng), /pcapng file; convert it with: editcap -F pcap/);
  assert.throws(() => new PcapReader(new TextEncoder().encode('hello, this is definitely text')), /unknown magic number 0x68656c6c/);
  const whole = pcapFile(LINKTYPE.ETHERNET, true, false);
  const r = new PcapReader(whole.subarray(0, whole.length - 3));
  const seen: number[] = [];
  assert.throws(() => { for (const d of r.udp()) seen.push(d.frame); }, /cut short inside frame 5/);
  assert.deepEqual(seen, [1, 3], 'the datagrams before the cut were read');
});
