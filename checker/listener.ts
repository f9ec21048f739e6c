// The NetFlow UDP socket: one socket for IPv4 and IPv6 (":2055"), a large
// kernel receive buffer, and a receive thread (udp-worker.ts) that keeps
// reading while the main thread is busy. Datagrams reach the handler in
// arrival order. pause() stops handing them over (the "block" queue policy):
// the receive thread runs out of credit, stops reading, and the kernel buffer
// takes the push-back instead of memory.
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../common/log.js';
import type { FromWorker, ToWorker, WorkerConfig } from './udp-worker.js';

export type DatagramHandler = (datagram: Uint8Array, exporter: string, receivedMs: number) => void;

export interface ListenerStats {
  /** Datagrams and bytes handed to the decoder. */
  datagrams: number;
  bytes: number;
  /** What the kernel granted (Linux reports twice the usable size). */
  receive_buffer_bytes: number;
  /** Bytes read by the receive thread and not yet handed over. */
  backlog_bytes: number;
  /** Datagrams the kernel dropped on this socket because its buffer was full; null off Linux. */
  kernel_drops: number | null;
  paused: boolean;
}

export interface BindTarget { type: 'udp4' | 'udp6'; host: string; port: number; ipv6Only: boolean }

/** Read ahead of the main thread at most this much (then the kernel buffer holds the rest). */
const MAX_BACKLOG_BYTES = 64 * 1024 * 1024;

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

type Chunk = Extract<FromWorker, { type: 'chunk' }> & { next: number };

export class UdpListener {
  private worker: Worker | undefined;
  private family: 'udp4' | 'udp6' = 'udp6';
  private boundPort = 0;
  private granted = 0;
  private readonly chunks: Chunk[] = [];
  private backlog = 0;
  private datagrams = 0;
  private bytes = 0;
  private paused = false;
  private draining = false;
  private drainQueued = false;
  /** Stopping: everything already read is handed over, whatever the queue policy. */
  private closing = false;
  private exited: Promise<void> | undefined;

  constructor(private readonly listen: string, private readonly receiveBuffer: number, private readonly onDatagram: DatagramHandler, private readonly log: Logger) {}

  async start(): Promise<{ address: string; port: number }> {
    const target = await bindTarget(this.listen);
    this.family = target.type;
    const config: WorkerConfig = { target, receiveBuffer: this.receiveBuffer, maxBacklogBytes: MAX_BACKLOG_BYTES };
    const worker = new Worker(new URL('./udp-worker.js', import.meta.url), { workerData: config });
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    let listening = false;
    const bound = await new Promise<{ address: string; port: number; granted: number }>((resolve, reject) => {
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'chunk') this.take(m);
        else if (m.type === 'listening') { listening = true; resolve(m); }
        else if (listening) this.log.error({ err: m.message }, 'udp socket error');
        else reject(new Error(m.message));
      });
      worker.on('error', (err) => { if (listening) this.log.error({ err: err.message }, 'udp receive thread failed'); else reject(err); });
      worker.once('exit', () => reject(new Error('receive thread exited')));
    }).catch(async (err: Error) => {
      await worker.terminate();
      throw new Error(`listen_addr ${this.listen}: ${err.message}`);
    });
    this.worker = worker;
    this.boundPort = bound.port;
    this.granted = bound.granted;
    // Linux doubles the request for bookkeeping; less than asked means net.core.rmem_max capped it.
    if (bound.granted < this.receiveBuffer) {
      this.log.warn({ asked: this.receiveBuffer, granted: bound.granted }, 'kernel capped the UDP receive buffer; raise net.core.rmem_max for bursty exporters');
    }
    this.log.info({ listen: this.listen, address: bound.address, port: bound.port, receive_buffer_bytes: bound.granted }, 'netflow udp listening');
    return { address: bound.address, port: bound.port };
  }

  /** Stops handing datagrams over; the receive thread soon stops reading and the kernel buffer fills. */
  pause(): void {
    if (!this.closing) this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.scheduleDrain();
  }

  /** Closes the socket; what was already read is still handed over (even when paused). */
  async stop(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    this.closing = true;
    worker.postMessage({ type: 'close' } satisfies ToWorker);
    await this.exited;
    this.paused = false;
    while (this.chunks.length) this.drain();
  }

  stats(): ListenerStats {
    return {
      datagrams: this.datagrams,
      bytes: this.bytes,
      receive_buffer_bytes: this.granted,
      backlog_bytes: this.backlog,
      kernel_drops: this.readKernelDrops(),
      paused: this.paused,
    };
  }

  // Only queues: the port delivers every waiting message in one go, so
  // decoding here would hold the event loop for as long as chunks keep coming.
  private take(chunk: Extract<FromWorker, { type: 'chunk' }>): void {
    this.chunks.push({ ...chunk, next: 0 });
    this.backlog += chunk.data.byteLength;
    this.scheduleDrain();
  }

  private scheduleDrain(): void {
    if (this.drainQueued) return;
    this.drainQueued = true;
    setImmediate(() => { this.drainQueued = false; this.drain(); });
  }

  /**
   * Hands over one chunk, then yields to the event loop before the next, so a
   * backlog never starves the NATS socket (whose acks free the queue).
   */
  private drain(): void {
    // The handler may pause us, or a re-entrant resume may call drain again.
    if (this.draining || this.paused) return;
    this.draining = true;
    try {
      const c = this.chunks[0];
      if (!c) return;
      const data = new Uint8Array(c.data);
      const exporters = c.exporters.map(exporterAddress);
      while (!this.paused && c.next < c.ends.length) {
        const i = c.next++;
        const start = i ? c.ends[i - 1]! : 0;
        const datagram = data.subarray(start, c.ends[i]!);
        this.datagrams++;
        this.bytes += datagram.length;
        this.onDatagram(datagram, exporters[c.exporter[i]!]!, c.times[i]!);
      }
      if (c.next < c.ends.length) return;
      this.chunks.shift();
      this.backlog -= c.data.byteLength;
      this.worker?.postMessage({ type: 'credit', bytes: c.data.byteLength } satisfies ToWorker);
    } finally {
      this.draining = false;
    }
    if (this.chunks.length) this.scheduleDrain();
  }

  private readKernelDrops(): number | null {
    if (!this.boundPort || !this.worker) return null;
    try {
      return kernelDrops(readFileSync(this.family === 'udp6' ? '/proc/net/udp6' : '/proc/net/udp', 'utf8'), this.boundPort) ?? null;
    } catch {
      return null;
    }
  }
}
