// A real nats-server with JetStream whose only door is TLS with client
// certificates verified (the tls block scripts/gen-certs.sh writes).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, spawnPeer, tempDir, waitFor, type Peer } from '../helpers/process.js';

export interface TlsNats {
  url: string;
  port: number;
  /** http://127.0.0.1:PORT of the monitoring endpoint (/connz). */
  monitorUrl: string;
  output(): string;
  stop(): Promise<void>;
}

export async function startTlsNats(tlsBlock: string): Promise<TlsNats> {
  const dir = tempDir('nats-tls');
  const [port, monitor] = [await freePort(), await freePort()];
  const conf = join(dir.path, 'nats-server.conf');
  writeFileSync(conf, `host: 127.0.0.1\nport: ${port}\nhttp: 127.0.0.1:${monitor}\njetstream { store_dir: "${dir.path}/js" }\n${tlsBlock}\n`);
  const peer: Peer = spawnPeer('nats-server', ['-c', conf]);
  await waitFor('nats-server with TLS', () => {
    if (peer.proc.exitCode !== null) throw new Error(`nats-server exited: ${peer.output()}`);
    return peer.output().includes('Server is ready');
  });
  if (!peer.output().includes('TLS required for client connections')) throw new Error(`nats-server does not require TLS: ${peer.output()}`);
  return { url: `nats://127.0.0.1:${port}`, port, monitorUrl: `http://127.0.0.1:${monitor}`, output: peer.output, stop: async () => { await peer.kill(); dir.remove(); } };
}
