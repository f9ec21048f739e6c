// A real nats-server with JetStream for one test file, restartable on the same
// port and data folder (to test outages). Runs the product's own launcher.
import { startLocalNats, type LocalNats } from '../../demo/nats-server.js';
import { freePort, tempDir } from './process.js';

export interface NatsServer {
  url: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its data folder. */
  destroy(): Promise<void>;
}

export async function startNatsServer(opts: { args?: string[] } = {}): Promise<NatsServer> {
  const port = await freePort();
  const dir = tempDir('nats');
  let running: LocalNats | undefined;
  const server: NatsServer = {
    url: `nats://127.0.0.1:${port}`,
    port,
    async start() { running = await startLocalNats({ host: '127.0.0.1', port, dataDir: dir.path, extraArgs: opts.args }); },
    async stop() { await running?.stop(); running = undefined; },
    async destroy() { await server.stop(); dir.remove(); },
  };
  await server.start();
  return server;
}
