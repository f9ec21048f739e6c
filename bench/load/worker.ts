// One load-generator thread: a share of the exporters, each on its own UDP
// socket bound to its loopback address, paced to its rate. Posts progress
// (flows sent so far, sample markers) about every 200 ms and its ledger when
// told to stop or when the duration is over.
import dgram from 'node:dgram';
import { parentPort, workerData } from 'node:worker_threads';
import { buildPool, exporterSpec, nextDatagram, type SourceState } from './exporters.js';
import { nextHopOf, type Marker, type SourceLedger } from './ledger.js';

export interface WorkerInput {
  exporters: number[];
  /** Flows per second per exporter. */
  rate: number;
  /** Stop after this long; 0 = until told. */
  durationMs: number;
  host: string;
  port: number;
}

export type WorkerMessage =
  | { kind: 'ready' }
  | { kind: 'progress'; at: number; flows: number; markers: Marker[] }
  | { kind: 'done'; sources: SourceLedger[]; startedMs: number; endedMs: number };

interface Lane { socket: dgram.Socket; state: SourceState; ledger: SourceLedger; rate: number; due: number }

const TICK_MS = 5;
const PROGRESS_MS = 200;

async function bind(address: string): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: 'udp4', sendBufferSize: 1 << 20 });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address, port: 0 }, () => { socket.off('error', reject); resolve(); });
  });
  return socket;
}

async function main(input: WorkerInput): Promise<void> {
  const port = parentPort!;
  const lanes: Lane[] = [];
  const now = Date.now();
  for (const index of input.exporters) {
    const spec = exporterSpec(index);
    const socket = await bind(spec.address);
    for (const source of spec.sources) {
      lanes.push({
        socket, rate: input.rate / spec.sources.length, due: 0,
        state: { pool: buildPool(source, now), next: 0, sequence: 0, records: 0 },
        ledger: { exporter: spec.address, version: source.version, sourceId: source.sourceId, flows: 0, bytes: 0, packets: 0, datagrams: 0, sendErrors: 0 },
      });
    }
  }
  let stopping = false;
  let go: () => void = () => {};
  const started = new Promise<void>((resolve) => { go = resolve; });
  const onControl = (m: { kind: 'go' | 'stop' }) => { if (m.kind === 'stop') stopping = true; go(); };
  port.on('message', onControl);
  // Every thread builds its pools first; they start together.
  port.postMessage({ kind: 'ready' } satisfies WorkerMessage);
  await started;

  let pending = 0;
  const startedMs = Date.now();
  const t0 = performance.now();
  let flows = 0;
  let markers: Marker[] = [];
  let lastProgress = 0;
  let markerLane = 0;
  while (!stopping && (input.durationMs === 0 || performance.now() - t0 < input.durationMs)) {
    const elapsed = (performance.now() - t0) / 1000;
    const nowMs = Date.now();
    for (const lane of lanes) {
      lane.due = lane.rate * elapsed;
      while (lane.ledger.flows < lane.due) {
        const { bytes, d } = nextDatagram(lane.state, nowMs);
        const l = lane.ledger;
        l.flows += d.records.length; l.bytes += d.bytesSum; l.packets += d.packetsSum; l.datagrams++;
        flows += d.records.length;
        pending++;
        lane.socket.send(bytes, input.port, input.host, (err) => {
          pending--;
          if (!err) return;
          // Not offered after all: take it back out of the ledger.
          l.sendErrors++; l.flows -= d.records.length; l.bytes -= d.bytesSum; l.packets -= d.packetsSum; l.datagrams--;
          flows -= d.records.length;
        });
      }
    }
    if (nowMs - lastProgress >= PROGRESS_MS) {
      // One marker per tick: the last record just sent by one lane, round robin.
      const lane = lanes[markerLane++ % lanes.length]!;
      if (lane.state.records > 0) markers.push({ exporter: lane.ledger.exporter, sourceId: lane.ledger.sourceId, nextHop: nextHopOf(lane.state.records - 1), sentMs: nowMs });
      port.postMessage({ kind: 'progress', at: nowMs, flows, markers } satisfies WorkerMessage);
      markers = [];
      lastProgress = nowMs;
    }
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  const endedMs = Date.now();
  while (pending > 0) await new Promise((r) => setTimeout(r, 10));
  port.postMessage({ kind: 'progress', at: endedMs, flows, markers: [] } satisfies WorkerMessage);
  for (const socket of new Set(lanes.map((l) => l.socket))) socket.close();
  port.postMessage({ kind: 'done', sources: lanes.map((l) => l.ledger), startedMs, endedMs } satisfies WorkerMessage);
  port.off('message', onControl);
}

await main(workerData as WorkerInput);
