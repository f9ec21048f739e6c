// A built-in router: exports the synthetic traffic model as NetFlow v9 over UDP
// to the checker, so the dashboard is alive without a real exporter.
import { createSocket, type Socket } from 'node:dgram';
import type { Logger } from '../common/log.js';
import type { Service } from '../common/service.js';
import { V9Exporter } from './exporter/packets.js';
import { trafficModel } from './traffic.js';

export interface SyntheticOptions {
  target: { host: string; port: number };
  /** Loopback source address, so the exporter shows up as its own router. */
  source: string;
  /** Flows per second at the busiest time of day. */
  flowsPerSecond: number;
  seed?: number;
}

const TICK_MS = 250;

export class SyntheticExporter implements Service {
  readonly name = 'synthetic-exporter';
  private socket: Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private carry = 0;
  private readonly model;
  private readonly exporter: V9Exporter;
  readonly sent = { flows: 0, bytes: 0, packets: 0, datagrams: 0 };

  constructor(private readonly opts: SyntheticOptions, private readonly log: Logger) {
    this.model = trafficModel({ seed: opts.seed ?? 7, exporter: opts.source });
    this.exporter = new V9Exporter({ bootMs: Date.now() - 3_600_000, sourceId: 1 });
  }

  async start(): Promise<void> {
    const socket = createSocket(this.opts.source.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, this.opts.source, () => { socket.off('error', reject); resolve(); });
    });
    socket.on('error', (err) => this.log.warn({ err: err.message }, 'synthetic exporter send failed'));
    this.socket = socket;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.log.info({ source: this.opts.source, target: `${this.opts.target.host}:${this.opts.target.port}`, flows_per_second: this.opts.flowsPerSecond }, 'synthetic NetFlow v9 exporter started');
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.socket?.close();
    this.socket = undefined;
  }

  private tick(): void {
    const now = Date.now();
    this.carry += this.opts.flowsPerSecond * this.model.rhythm(now) * (TICK_MS / 1000);
    const n = Math.floor(this.carry);
    this.carry -= n;
    if (!n || !this.socket) return;
    const flows = Array.from({ length: n }, () => this.model.flow(now - Math.floor(Math.random() * TICK_MS)));
    for (const f of flows) { this.sent.flows++; this.sent.bytes += f.bytes; this.sent.packets += f.packets; }
    for (const d of this.exporter.packets(flows, now)) {
      this.socket.send(d, this.opts.target.port, this.opts.target.host);
      this.sent.datagrams++;
    }
  }
}
