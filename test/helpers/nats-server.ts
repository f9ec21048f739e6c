// A real nats-server with JetStream for one test file, restartable on the same
// port and data folder (to test outages).
import { connect } from 'nats';
import { freePort, spawnPeer, tempDir, waitFor, type Peer } from './process.js';

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
  let peer: Peer | undefined;
  const url = `nats://127.0.0.1:${port}`;
  const server: NatsServer = {
    url, port,
    async start() {
      peer = spawnPeer('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir.path, ...(opts.args ?? [])]);
      await waitFor(`nats-server on ${port}`, async () => {
        if (peer!.proc.exitCode !== null) throw new Error(`nats-server exited: ${peer!.output()}`);
        const nc = await connect({ servers: url, reconnect: false, timeout: 500 });
        await nc.close();
        return true;
      });
    },
    async stop() { await peer?.kill(); peer = undefined; },
    async destroy() { await server.stop(); dir.remove(); },
  };
  await server.start();
  return server;
}
