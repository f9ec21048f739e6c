// A real clickhouse-server (Debian's 18.16) for one test file, as our own
// process: its config, data and logs in a temporary folder, HTTP and native
// ports free on loopback. Restartable on the same ports and data (to test
// outages). A password-protected user `writer` exists beside `default`.
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, spawnPeer, tempDir, waitFor, type Peer } from './process.js';

export interface ClickHouseServer {
  /** http://127.0.0.1:PORT */
  url: string;
  /** https://localhost:PORT when started with tls, else '' */
  httpsUrl: string;
  user: string;
  password: string;
  dataDir: string;
  stop(): Promise<void>;
  /** SIGKILL: a crash, not a shutdown. */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its folder. */
  destroy(): Promise<void>;
  output(): string;
  /** The server's process id while it runs. */
  pid(): number | undefined;
}

export interface ClickHouseServerOptions {
  /** Server-wide compression of MergeTree data (18.16 has no per-column codecs); default lz4. */
  compression?: 'lz4' | 'zstd';
  /** PEM server certificate and key: also listen for HTTPS. */
  tls?: { certFile: string; keyFile: string };
  /** The server's time zone (default Asia/Tokyo, so nothing can rely on it being UTC). */
  timezone?: string;
}

export async function startClickHouseServer(opts: ClickHouseServerOptions = {}): Promise<ClickHouseServer> {
  const dir = tempDir('clickhouse');
  const [httpPort, tcpPort, httpsPort] = [await freePort(), await freePort(), opts.tls ? await freePort() : 0];
  for (const sub of ['data', 'tmp', 'user_files', 'format_schemas', 'log']) mkdirSync(join(dir.path, sub), { recursive: true });
  const password = 'writer-secret';
  const config = `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${dir.path}/log/server.log</log><errorlog>${dir.path}/log/error.log</errorlog><size>10M</size><count>2</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  ${opts.tls ? `<https_port>${httpsPort}</https_port>
  <openSSL><server><certificateFile>${opts.tls.certFile}</certificateFile><privateKeyFile>${opts.tls.keyFile}</privateKeyFile><verificationMode>none</verificationMode><loadDefaultCAFile>false</loadDefaultCAFile><cacheSessions>true</cacheSessions><disableProtocols>sslv2,sslv3</disableProtocols><preferServerCiphers>true</preferServerCiphers></server></openSSL>` : ''}
  <path>${dir.path}/data/</path>
  <tmp_path>${dir.path}/tmp/</tmp_path>
  <user_files_path>${dir.path}/user_files/</user_files_path>
  <format_schema_path>${dir.path}/format_schemas/</format_schema_path>
  <timezone>${opts.timezone ?? 'Asia/Tokyo'}</timezone>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
  ${opts.compression === 'zstd' ? '<compression><case><method>zstd</method></case></compression>' : ''}
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default>
    <writer><password>${password}</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></writer>
  </users>
  <profiles><default></default></profiles>
  <quotas><default></default></quotas>
</yandex>
`;
  const configFile = join(dir.path, 'config.xml');
  writeFileSync(configFile, config);
  let peer: Peer | undefined;
  const url = `http://127.0.0.1:${httpPort}`;
  const server: ClickHouseServer = {
    url,
    httpsUrl: opts.tls ? `https://localhost:${httpsPort}` : '',
    user: 'writer',
    password,
    dataDir: join(dir.path, 'data'),
    output: () => peer?.output() ?? '',
    pid: () => peer?.proc.pid,
    async start() {
      peer = spawnPeer('clickhouse-server', [`--config-file=${configFile}`], { cwd: dir.path });
      const p = peer;
      await waitFor(`clickhouse-server on ${httpPort}`, async () => {
        if (p.proc.exitCode !== null) throw new Error(`clickhouse-server exited: ${p.output()}`);
        const res = await fetch(`${url}/ping`);
        return res.ok;
      }, 60_000, 200);
    },
    async stop() { await peer?.kill('SIGTERM'); peer = undefined; },
    async kill() { await peer?.kill('SIGKILL'); peer = undefined; },
    async destroy() { await server.stop(); dir.remove(); },
  };
  await server.start();
  return server;
}
