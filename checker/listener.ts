// The NetFlow UDP socket: one socket for IPv4 and IPv6 (":2055"), a large
// kernel receive buffer to ride out bursts, and pause/resume so the "block"
// queue policy can push back onto the kernel buffer instead of into memory.
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Logger } from '../common/log.js';

export type DatagramHandler = (datagram: Buffer, exporter: string, receivedMs: number) => void;

export interface ListenerStats {
  datagrams: number;
  bytes: number;
  /** What the kernel granted (Linux reports twice the usable size). */
  receive_buffer_bytes: number;
  /** Datagrams the kernel dropped on this socket because its buffer was full; null off Linux. */
  kernel_drops: number | null;
  paused: boolean;
}

export interface BindTarget { type: 'udp4' | 'udp6'; host: string; port: number; ipv6Only: boolean }

/** ":2055" -> dual-stack "::"; "0.0.0.0:2055" -> IPv4 only; "[::1]:2055" -> IPv6 only; names are resolved. */
export async function bindTarget(listen: string): Promise<BindTarget> {
  const at = listen.lastIndexOf(':');
  const port = Number(listen.slice(at + 1));
  let host = listen.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  if (host === '') return { type: 'udp6', host: '::', port, ipv6Only: false };
  if (!isIP(host)) host = (await lookup(host)).address;
  return isIP(host) === 6 ? { type: 'udp6', host, port, ipv6Only: true } : { type: 'udp4', host, port, ipv6Only: false };
}

/** "::ffff:192.0.2.1" (an IPv4 exporter on the dual-stack socket) -> "192.0.2.1". */
export function exporterAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** The drops column of our socket's line in /proc/net/udp{,6}, matched by local port. */
export function kernelDrops(procText: string, port: number): number | undefined {
  const hexPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of procText.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length >= 13 && cols[1]!.endsWith(hexPort)) return Number(cols[cols.length - 1]);
  }
  return undefined;
}

interface RecvHandle { recvStart(): number; recvStop(): number }

export class UdpListener {
  private socket: dgram.Socket | undefined;
  private family: 'udp4' | 'udp6' = 'udp6';
  private datagrams = 0;
  private bytes = 0;
  private paused = false;
  private boundPort = 0;

  constructor(private readonly listen: string, private readonly receiveBuffer: number, private readonly onDatagram: DatagramHandler, private readonly log: Logger) {}

  async start(): Promise<{ address: string; port: number }> {
    const target = await bindTarget(this.listen);
    this.family = target.type;
    const socket = dgram.createSocket({ type: target.type, ipv6Only: target.ipv6Only, recvBufferSize: this.receiveBuffer });
    // Exporters are few and send many datagrams each: normalise each address once.
    let lastRaw = '', lastExporter = '';
    socket.on('message', (msg, rinfo) => {
      this.datagrams++;
      this.bytes += msg.length;
      if (rinfo.address !== lastRaw) { lastRaw = rinfo.address; lastExporter = exporterAddress(lastRaw); }
      this.onDatagram(msg, lastExporter, Date.now());
    });
    socket.on('error', (err) => this.log.error({ err: err.message }, 'udp socket error'));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(target.port, target.host, () => { socket.off('error', reject); resolve(); });
    }).catch((err: Error) => { throw new Error(`listen_addr ${this.listen}: ${err.message}`); });
    this.socket = socket;
    const addr = socket.address();
    this.boundPort = addr.port;
    const granted = socket.getRecvBufferSize();
    // Linux doubles the request for bookkeeping; less than asked means net.core.rmem_max capped it.
    if (granted < this.receiveBuffer) {
      this.log.warn({ asked: this.receiveBuffer, granted }, 'kernel capped the UDP receive buffer; raise net.core.rmem_max for bursty exporters');
    }
    this.log.info({ listen: this.listen, address: addr.address, port: addr.port, receive_buffer_bytes: granted }, 'netflow udp listening');
    return { address: addr.address, port: addr.port };
  }

  /** Stops reading the socket; datagrams wait in the kernel buffer (and past it, the kernel drops them). */
  pause(): void {
    const h = this.paused ? undefined : this.handle();
    if (!h) return;
    h.recvStop();
    this.paused = true;
  }

  resume(): void {
    const h = this.paused ? this.handle() : undefined;
    if (!h) return;
    h.recvStart();
    this.paused = false;
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  stats(): ListenerStats {
    return {
      datagrams: this.datagrams,
      bytes: this.bytes,
      receive_buffer_bytes: this.socket?.getRecvBufferSize() ?? 0,
      kernel_drops: this.readKernelDrops(),
      paused: this.paused,
    };
  }

  private readKernelDrops(): number | null {
    if (!this.boundPort) return null;
    try {
      return kernelDrops(readFileSync(this.family === 'udp6' ? '/proc/net/udp6' : '/proc/net/udp', 'utf8'), this.boundPort) ?? null;
    } catch {
      return null;
    }
  }

  // Node has no public way to stop reading a UDP socket; its libuv handle
  // does (recvStop/recvStart are what bind and close use).
  private handle(): RecvHandle | undefined {
    if (!this.socket) return undefined;
    const socket = this.socket as unknown as Record<symbol, { handle?: RecvHandle }>;
    const sym = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
    const handle = sym ? socket[sym]?.handle : undefined;
    if (!handle || typeof handle.recvStop !== 'function') {
      this.log.warn('this Node.js cannot pause a UDP socket; the block policy will not push back');
      return undefined;
    }
    return handle;
  }
}
