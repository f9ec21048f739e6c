// Replays the NetFlow datagrams of pcap files to a collector with the export
// clocks moved to now, so real router exports show up as current traffic.
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { PcapReader } from '../checker/pcap.js';

/** Offset of unix_secs in the v5 and v9 export headers (both after version, count, sysUptime). */
const UNIX_SECS_OFFSET = 8;

/**
 * A copy of an export datagram with its header clock moved by `deltaSecs`.
 * Flow times are relative to the header clock (via sysUptime), so they move
 * with it. Returns undefined for anything that is not a v5/v9 export.
 */
export function shiftExportClock(datagram: Uint8Array, deltaSecs: number): Uint8Array | undefined {
  if (datagram.length < 24) return undefined;
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const version = view.getUint16(0);
  if (version !== 5 && version !== 9) return undefined;
  const out = new Uint8Array(datagram);
  new DataView(out.buffer).setUint32(UNIX_SECS_OFFSET, (view.getUint32(UNIX_SECS_OFFSET) + deltaSecs) >>> 0);
  return out;
}

/** The export datagrams of a capture, in order, with their header clock. */
export function exportsOf(pcap: Uint8Array): Array<{ payload: Uint8Array; unixSecs: number }> {
  const out: Array<{ payload: Uint8Array; unixSecs: number }> = [];
  for (const d of new PcapReader(pcap).udp()) {
    if (d.truncated || d.payload.length < 24) continue;
    const view = new DataView(d.payload.buffer, d.payload.byteOffset, d.payload.byteLength);
    const version = view.getUint16(0);
    if (version === 5 || version === 9) out.push({ payload: d.payload, unixSecs: view.getUint32(UNIX_SECS_OFFSET) });
  }
  return out;
}

/**
 * Sends every export of each capture once, clocks shifted so the capture's last
 * export reads as `nowMs`, from `sourceAddress` (any 127.x address works on Linux,
 * so each capture can look like its own router).
 */
export async function replayCaptures(files: string[], target: { host: string; port: number }, sourceAddress: (index: number) => string, nowMs = Date.now()): Promise<number> {
  let sent = 0;
  for (const [i, file] of files.entries()) {
    const exports = exportsOf(readFileSync(file));
    if (!exports.length) continue;
    const delta = Math.floor(nowMs / 1000) - Math.max(...exports.map((e) => e.unixSecs));
    const socket = await bound(sourceAddress(i));
    try {
      for (const e of exports) {
        const shifted = shiftExportClock(e.payload, delta);
        if (!shifted) continue;
        await new Promise<void>((resolve, reject) => socket.send(shifted, target.port, target.host, (err) => (err ? reject(err) : resolve())));
        sent++;
      }
    } finally {
      socket.close();
    }
  }
  return sent;
}

async function bound(address: string): Promise<Socket> {
  const family = address.includes(':') ? 'udp6' : 'udp4';
  const socket = createSocket(family);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, address, () => { socket.off('error', reject); resolve(); });
  });
  return socket;
}
