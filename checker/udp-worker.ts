// The receive thread of the UDP listener. It only reads the socket and hands
// datagrams to the main thread in chunks (one transferred buffer each), so a
// pause of the main thread (garbage collection, encoding a batch, a busy
// machine) is absorbed in memory instead of overflowing the kernel buffer.
// Memory is bounded by credit: past `maxBacklogBytes` handed over and not yet
// processed, it stops reading and the kernel buffer takes over (and past
// that the kernel drops, which the main thread reads from /proc).
import dgram from 'node:dgram';
import { parentPort, workerData } from 'node:worker_threads';
import type { BindTarget } from './listener.js';

export interface WorkerConfig { target: BindTarget; receiveBuffer: number; maxBacklogBytes: number }

/** Main -> worker. */
export type ToWorker = { type: 'credit'; bytes: number } | { type: 'close' };

/** Worker -> main. `ends[i]` is where datagram i ends in `data`; `exporter[i]` indexes `exporters`. */
export type FromWorker =
  | { type: 'listening'; address: string; port: number; granted: number }
  | { type: 'error'; message: string }
  | { type: 'chunk'; data: ArrayBuffer; ends: Uint32Array; times: Float64Array; exporter: Uint16Array; exporters: string[] };

const CHUNK_BYTES = 256 * 1024;
const CHUNK_DATAGRAMS = 512;
/** A chunk waits at most this long to fill: each hand-over costs tens of microseconds, so few and full. */
const CHUNK_LINGER_MS = 5;

interface RecvHandle { recvStart(): number; recvStop(): number }

function run(port: NonNullable<typeof parentPort>, cfg: WorkerConfig): void {
  const { target } = cfg;
  const socket = dgram.createSocket({ type: target.type, ipv6Only: target.ipv6Only, recvBufferSize: cfg.receiveBuffer });
  const data = new Uint8Array(CHUNK_BYTES);
  const ends = new Uint32Array(CHUNK_DATAGRAMS);
  const times = new Float64Array(CHUNK_DATAGRAMS);
  const exporter = new Uint16Array(CHUNK_DATAGRAMS);
  let exporters: string[] = [];
  let index = new Map<string, number>();
  let used = 0, count = 0, flushQueued = false;
  let timer: NodeJS.Timeout | undefined;
  let backlog = 0, reading = true;

  const handle = (): RecvHandle | undefined => {
    const s = socket as unknown as Record<symbol, { handle?: RecvHandle }>;
    const sym = Object.getOwnPropertySymbols(s).find((x) => x.description === 'state symbol');
    return sym ? s[sym]?.handle : undefined;
  };

  const flush = () => {
    clearTimeout(timer);
    flushQueued = false;
    if (!count) return;
    const buf = data.buffer.slice(0, used);
    const msg = { type: 'chunk', data: buf, ends: ends.slice(0, count), times: times.slice(0, count), exporter: exporter.slice(0, count), exporters } satisfies FromWorker;
    port.postMessage(msg, [buf, msg.ends.buffer as ArrayBuffer, msg.times.buffer as ArrayBuffer, msg.exporter.buffer as ArrayBuffer]);
    backlog += used;
    used = 0; count = 0; exporters = []; index = new Map();
    if (reading && backlog >= cfg.maxBacklogBytes) { handle()?.recvStop(); reading = false; }
  };

  socket.on('message', (msg, rinfo) => {
    // A datagram is at most 65,507 bytes: it always fits an empty chunk.
    if (used + msg.length > data.length || count === ends.length) flush();
    data.set(msg, used);
    used += msg.length;
    let i = index.get(rinfo.address);
    if (i === undefined) { i = exporters.push(rinfo.address) - 1; index.set(rinfo.address, i); }
    exporter[count] = i;
    times[count] = Date.now();
    ends[count++] = used;
    if (!flushQueued) { flushQueued = true; timer = setTimeout(flush, CHUNK_LINGER_MS); }
  });
  socket.on('error', (err) => port.postMessage({ type: 'error', message: err.message } satisfies FromWorker));

  port.on('message', (m: ToWorker) => {
    if (m.type === 'credit') {
      backlog -= m.bytes;
      if (!reading && backlog < cfg.maxBacklogBytes / 2) { handle()?.recvStart(); reading = true; }
    } else if (m.type === 'close') {
      flush();
      socket.close(() => port.close());
    }
  });

  socket.bind(target.port, target.host, () => {
    const a = socket.address();
    port.postMessage({ type: 'listening', address: a.address, port: a.port, granted: socket.getRecvBufferSize() } satisfies FromWorker);
  });
}

if (parentPort) run(parentPort, workerData as WorkerConfig);
