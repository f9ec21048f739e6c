// NetFlow v5 datagrams built by hand from the Cisco layout (24-byte header,
// 48-byte records), so a test knows exactly what it sent.
export interface V5Flow {
  src: string; dst: string; srcPort: number; dstPort: number; protocol: number;
  packets: number; bytes: number;
}

function ipv4(text: string): number {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${text}`);
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** One datagram; each flow lasted the second before `nowMs` (a whole second: v5 carries unix_secs). */
export function v5Datagram(flows: V5Flow[], sequence: number, nowMs = Date.now()): Buffer {
  const uptime = 3_600_000;
  const buf = Buffer.alloc(24 + 48 * flows.length);
  buf.writeUInt16BE(5, 0);
  buf.writeUInt16BE(flows.length, 2);
  buf.writeUInt32BE(uptime, 4);
  buf.writeUInt32BE(Math.floor(nowMs / 1000), 8);
  buf.writeUInt32BE(0, 12);
  buf.writeUInt32BE(sequence, 16);
  flows.forEach((f, i) => {
    const o = 24 + 48 * i;
    buf.writeUInt32BE(ipv4(f.src), o);
    buf.writeUInt32BE(ipv4(f.dst), o + 4);
    buf.writeUInt32BE(0, o + 8);
    buf.writeUInt16BE(1, o + 12);
    buf.writeUInt16BE(2, o + 14);
    buf.writeUInt32BE(f.packets, o + 16);
    buf.writeUInt32BE(f.bytes, o + 20);
    buf.writeUInt32BE(uptime - 2000, o + 24);
    buf.writeUInt32BE(uptime - 1000, o + 28);
    buf.writeUInt16BE(f.srcPort, o + 32);
    buf.writeUInt16BE(f.dstPort, o + 34);
    buf.writeUInt8(f.protocol === 6 ? 0x18 : 0, o + 37);
    buf.writeUInt8(f.protocol, o + 38);
  });
  return buf;
}
