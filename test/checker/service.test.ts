// The checker's life cycle: it starts before NATS and catches up; one socket
// takes IPv4 and IPv6 exporters; stopping (the service, or the command on
// SIGTERM) flushes what is queued; the agent sees NOT_SERVING while NATS is away.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { createLogger } from '../../common/log.js';
import { STREAM } from '../../common/stream.js';
import { loadCheckerConfig, type CheckerConfig } from '../../checker/config.js';
import { CheckerService } from '../../checker/service.js';
import { v5Packet, type V5Record } from '../../demo/exporter/packets.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { freePort, spawnPeer, tempDir, waitFor } from '../helpers/process.js';
import { agentClient, healthCheck, NOT_SERVING, SERVING } from './agent-client.js';
import { readStream } from './stream-reader.js';

const log = createLogger('test', process.env.TEST_LOG ?? 'silent');
let nats: NatsServer;
const dir = tempDir('checker-service');
before(async () => { nats = await startNatsServer(); });
after(async () => { await nats.destroy(); dir.remove(); });

function config(overrides: Partial<CheckerConfig>): CheckerConfig {
  return loadCheckerConfig(undefined, {
    overrides: { listen_addr: '127.0.0.1:0', grpc_listen_addr: '127.0.0.1:0', metrics_listen_addr: '', nats_url: nats.url, ...overrides },
  });
}

/** `count` v5 datagrams of 10 records; record bytes = 1, 2, 3 ... from `first`. */
function datagrams(count: number, first = 1): Uint8Array[] {
  const now = Date.now();
  const out: Uint8Array[] = [];
  for (let d = 0; d < count; d++) {
    const records: V5Record[] = [];
    for (let k = 0; k < 10; k++) records.push({ src_ip: '192.0.2.1', dst_ip: '192.0.2.2', protocol: 6, src_port: 80, dst_port: 40000 + k, packets: 1, bytes: first + d * 10 + k, first: 1000, last: 2000 });
    out.push(v5Packet({ sysUptime: 3000, unixSecs: Math.floor(now / 1000), sequence: d * 10 }, records));
  }
  return out;
}

async function send(port: number, host: string, list: Uint8Array[]): Promise<void> {
  const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  for (const d of list) await new Promise<void>((r) => s.send(d, port, host, () => r()));
  s.close();
}

async function streamRecords(): Promise<ReturnType<typeof readStream>> {
  const nc: NatsConnection = await connect({ servers: nats.url });
  try {
    const c = await readStream(nc);
    await (await nc.jetstreamManager()).streams.purge(STREAM);
    return c;
  } finally { await nc.close(); }
}

test('starts before NATS, queues, and publishes everything once NATS comes up', { timeout: 60_000 }, async () => {
  await nats.stop();
  const checker = new CheckerService(config({ collector_id: 'early' }), log);
  await checker.start();
  const agent = agentClient(`127.0.0.1:${checker.addresses().grpcPort}`);
  try {
    await send(checker.addresses().udpPort, '127.0.0.1', datagrams(20));
    await waitFor('records queued', () => checker.health().received === 200);
    const h = checker.health();
    assert.notEqual(h.nats.state, 'connected');
    assert.equal(h.queue.depth, 200);
    assert.equal(await healthCheck(agent), NOT_SERVING);
    await nats.start();
    await waitFor('published after NATS came up', () => checker.health().published === 200, 30_000);
    assert.equal(await healthCheck(agent), SERVING);
  } finally {
    agent.close();
    await checker.stop();
  }
  const c = await streamRecords();
  assert.deepEqual(c.records.map((r) => r.bytes).sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i + 1));
});

test('":port" takes IPv4 and IPv6 exporters on one socket, each under its own address', { timeout: 60_000 }, async () => {
  const port = await freePort();
  const checker = new CheckerService(config({ listen_addr: `:${port}`, collector_id: 'dual' }), log);
  await checker.start();
  try {
    await send(port, '127.0.0.1', datagrams(3, 1));
    await send(port, '::1', datagrams(2, 1001));
    await waitFor('published', () => checker.health().published === 50, 20_000);
  } finally {
    await checker.stop();
  }
  const c = await streamRecords();
  const by = (e: string) => c.records.filter((r) => r.exporter === e).length;
  assert.deepEqual({ v4: by('127.0.0.1'), v6: by('::1') }, { v4: 30, v6: 20 });
});

test('stop() flushes records still waiting for their batch to fill', { timeout: 60_000 }, async () => {
  // A batch that would wait a minute to fill: only the flush can send it.
  const checker = new CheckerService(config({ collector_id: 'flush', batch_size: 10_000, queue_size: 10_000, batch_linger_ms: 60_000 }), log);
  await checker.start();
  await waitFor('connected', () => checker.status().available);
  await send(checker.addresses().udpPort, '127.0.0.1', datagrams(7));
  await waitFor('records queued', () => checker.health().received === 70);
  assert.equal(checker.health().published, 0);
  await checker.stop();
  assert.equal(checker.health().published, 70);
  const c = await streamRecords();
  assert.equal(c.records.length, 70);
});

test('the command on SIGTERM flushes its queue and exits 0', { timeout: 60_000 }, async () => {
  const [udp, grpc] = [await freePort(), await freePort()];
  const path = join(dir.path, 'netflow.json');
  writeFileSync(path, JSON.stringify({ listen_addr: `127.0.0.1:${udp}`, grpc_listen_addr: `127.0.0.1:${grpc}`, metrics_listen_addr: '', nats_url: nats.url, collector_id: 'cli', batch_linger_ms: '1m' }));
  const proc = spawnPeer(process.execPath, ['dist/cli.js', 'checker', '--config', path]);
  await waitFor('checker listening', () => /grpc checker server listening/.test(proc.output()) && /connected to nats/.test(proc.output()));
  await send(udp, '127.0.0.1', datagrams(9));
  await new Promise((r) => setTimeout(r, 500));
  const exited = new Promise<number | null>((r) => proc.proc.once('exit', (code) => r(code)));
  proc.proc.kill('SIGTERM');
  assert.equal(await exited, 0, proc.output());
  const c = await streamRecords();
  assert.equal(c.records.length, 90);
  assert.deepEqual([...c.collectors], ['cli']);
});
