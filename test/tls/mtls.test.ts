// mTLS across the whole pipeline, every service as its own process in mtls
// mode with the certificates scripts/gen-certs.sh makes: nats-server with
// TLS and client verification, the checker, both writers and the
// core-extension each connecting with its own certificate. Every listener
// refuses a client without a certificate, or with one from another CA; with
// the right ones NetFlow flows through to both tiers, and the agent's and the
// poller's checks answer.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { connect } from 'nats';
import { agentCheck, agentClient, getStatus, healthCheck } from '../checker/agent-client.js';
import { startClickHouseServer, type ClickHouseServer } from '../helpers/clickhouse-server.js';
import { freePort, spawnPeer, tempDir, waitFor, type Peer } from '../helpers/process.js';
import { v5Datagram, type V5Flow } from '../packaging/netflow-v5.js';
import { startTlsNats, type TlsNats } from './nats-tls.js';
import { twoPkis, type Certs } from './pki.js';

const FLOWS: V5Flow[] = [
  { src: '203.0.113.5', dst: '198.51.100.7', srcPort: 51000, dstPort: 443, protocol: 6, packets: 20, bytes: 25_000 },
  { src: '203.0.113.6', dst: '198.51.100.7', srcPort: 51001, dstPort: 22, protocol: 6, packets: 3, bytes: 420 },
];
const BY_SRC = new Map([['203.0.113.5', 25_000], ['203.0.113.6', 420]]);
const TOKEN = 'mtls-test-token-0123456789abcdef0123456789abcdef';

const work = tempDir('mtls');
let pki: ReturnType<typeof twoPkis>;
let nats: TlsNats;
let ch: ClickHouseServer;
const services: Record<string, Peer> = {};
const ports = { udp: 0, checkerGrpc: 0, coreGrpc: 0, http: 0 };

const security = (c: Certs, role: string, cert: string) => ({
  mode: 'mtls', cert_dir: c.dir, server_name: 'nats-serviceradar', role,
  tls: { cert_file: `${cert}.pem`, key_file: `${cert}-key.pem`, ca_file: 'root.pem' },
});

function startService(name: string, command: string, config: unknown): Peer {
  const path = join(work.path, `${name}.json`);
  writeFileSync(path, JSON.stringify(config, null, 2));
  const peer = spawnPeer(process.execPath, ['dist/cli.js', command, '--config', path]);
  services[name] = peer;
  return peer;
}

async function waitListening(name: string, check: () => Promise<boolean>): Promise<void> {
  await waitFor(`${name} to listen`, async () => {
    if (services[name]!.proc.exitCode !== null) throw new Error(`${name} exited: ${services[name]!.output()}`);
    return check();
  }, 60_000, 300);
}

const creds = (c: Certs, who: string, ca: Certs = c) => grpc.credentials.createSsl(ca.read('root.pem'), c.read(`${who}-key.pem`), c.read(`${who}.pem`));

async function refusedEverywhere(address: string, label: string): Promise<void> {
  for (const [what, cr] of [
    ['no client certificate', grpc.credentials.createSsl(pki.good.read('root.pem'))],
    ['a certificate from another CA', creds(pki.rogue, 'agent', pki.good)],
    ['plaintext', grpc.credentials.createInsecure()],
  ] as const) {
    const c = agentClient(address, cr);
    await assert.rejects(healthCheck(c), (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE, `${label}: ${what} is refused`);
    c.close();
  }
}

describe('mTLS across the pipeline', { timeout: 900_000 }, () => {
  before(async () => {
    pki = twoPkis();
    nats = await startTlsNats(readFileSync(pki.good.file('nats-server-tls.conf'), 'utf8'));
    ch = await startClickHouseServer();
    for (const k of ['udp', 'checkerGrpc', 'coreGrpc', 'http'] as const) ports[k] = await freePort();
    const good = pki.good;
    startService('checker', 'checker', {
      listen_addr: `127.0.0.1:${ports.udp}`, nats_url: nats.url, grpc_listen_addr: `127.0.0.1:${ports.checkerGrpc}`, metrics_listen_addr: '',
      batch_linger_ms: '100ms', security: security(good, 'checker', 'netflow'),
    });
    startService('clickhouse-writer', 'clickhouse-writer', {
      nats_url: nats.url, clickhouse_url: ch.url, metrics_listen_addr: '', batch_wait: '200ms', security: security(good, 'clickhouse-writer', 'netflow-clickhouse'),
    });
    startService('parquet-writer', 'parquet-writer', {
      nats_url: nats.url, output_path: join(work.path, 'iceberg'), batch_interval: '1s', metrics_listen_addr: '', security: security(good, 'parquet-writer', 'netflow-parquet'),
    });
    startService('core', 'core', {
      netflow: { clickhouse_url: ch.url, iceberg_path: join(work.path, 'iceberg'), nats_url: nats.url },
      http: { listen_addr: `127.0.0.1:${ports.http}` },
      grpc: { listen_addr: `127.0.0.1:${ports.coreGrpc}` },
      api_tokens: [{ name: 'test', token_hash: `sha256$${createHash('sha256').update(TOKEN).digest('hex')}` }],
      security: security(good, 'core', 'core'),
    });
    await waitListening('core', async () => (await fetch(`http://127.0.0.1:${ports.http}/api/netflow/status`, { headers: { authorization: `Bearer ${TOKEN}` } }).catch(() => undefined))?.status === 200);
  });

  after(async () => {
    for (const p of Object.values(services)) await p.kill();
    await nats?.stop();
    await ch?.destroy();
    pki?.remove();
    work.remove();
  });

  it('nats-server refuses clients without a certificate, from another CA, or in plaintext', async () => {
    const attempts: Array<[string, Parameters<typeof connect>[0]]> = [
      ['no client certificate', { tls: { ca: pki.good.read('root.pem').toString() } }],
      ['a certificate from another CA', { tls: { ca: pki.good.read('root.pem').toString(), cert: pki.rogue.read('agent.pem').toString(), key: pki.rogue.read('agent-key.pem').toString() } }],
      ['plaintext', {}],
    ];
    for (const [label, opts] of attempts) {
      await assert.rejects(connect({ servers: nats.url, reconnect: false, timeout: 3000, ...opts }), label);
    }
    const nc = await connect({ servers: nats.url, reconnect: false, timeout: 3000, tls: { ca: pki.good.read('root.pem').toString(), cert: pki.good.read('agent.pem').toString(), key: pki.good.read('agent-key.pem').toString() } });
    await nc.close();
  });

  it('every service is connected to NATS over TLS with its own certificate', async () => {
    const want = ['serviceradar-netflow-checker', 'serviceradar-netflow-clickhouse-writer', 'serviceradar-netflow-parquet-writer', 'serviceradar-netflow-core'];
    let conns: Array<{ name?: string; tls_version?: string }> = [];
    await waitFor('four TLS connections on nats-server', async () => {
      conns = ((await (await fetch(`${nats.monitorUrl}/connz`)).json()) as { connections: typeof conns }).connections ?? [];
      return want.every((w) => conns.some((c) => c.name?.startsWith(w)));
    }, 60_000, 500);
    for (const w of want) {
      const c = conns.find((x) => x.name?.startsWith(w))!;
      assert.match(c.tls_version ?? '', /^1\.[23]$/, `${w} speaks TLS (${c.tls_version})`);
    }
  });

  it('a service holding a certificate from another CA cannot reach NATS, and says so', async () => {
    const [port, udp] = [await freePort(), await freePort()];
    const peer = startService('rogue-checker', 'checker', {
      listen_addr: `127.0.0.1:${udp}`, nats_url: nats.url, grpc_listen_addr: `127.0.0.1:${port}`, metrics_listen_addr: '', collector_id: 'rogue',
      security: security(pki.rogue, 'checker', 'netflow'),
    });
    try {
      const client = agentClient(`127.0.0.1:${port}`, creds(pki.rogue, 'agent'));
      let details: Record<string, unknown> = {};
      await waitListening('rogue-checker', async () => {
        const st = await getStatus(client, 'netflow', 'grpc').catch(() => undefined);
        if (st) details = JSON.parse(st.message) as Record<string, unknown>;
        return st !== undefined;
      });
      client.close();
      assert.notEqual((details.nats as { state: string }).state, 'connected', JSON.stringify(details.nats));
      const conns = ((await (await fetch(`${nats.monitorUrl}/connz`)).json()) as { connections: Array<{ name?: string }> }).connections ?? [];
      assert.ok(!conns.some((c) => c.name?.includes('rogue')), 'nats-server never accepted it');
      assert.match(nats.output(), /TLS handshake error/);
    } finally {
      await peer.kill();
    }
  });

  it('with the right certificates NetFlow flows to both tiers', async () => {
    const sock = createSocket('udp4');
    await new Promise<void>((resolve, reject) => sock.send(v5Datagram(FLOWS, 7), ports.udp, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
    sock.close();
    const get = async (tier: string) => {
      const res = await fetch(`http://127.0.0.1:${ports.http}/api/netflow/${tier}?time_range=last_15m&group_by=src_ip`, { headers: { authorization: `Bearer ${TOKEN}` } });
      return res.status === 200 ? ((await res.json()) as { results: Array<{ src_ip: string; bytes: number }> }).results : [];
    };
    for (const tier of ['realtime', 'historical']) {
      let rows: Array<{ src_ip: string; bytes: number }> = [];
      await waitFor(`the flows in the ${tier} tier`, async () => (rows = await get(tier)).length === 2, 90_000, 500)
        .catch((err) => { throw new Error(`${(err as Error).message}: ${JSON.stringify(rows)}\n${Object.entries(services).map(([n, p]) => `--- ${n}\n${p.output().slice(-2000)}`).join('\n')}`); });
      assert.deepEqual(new Map(rows.map((r) => [r.src_ip, Number(r.bytes)])), BY_SRC, tier);
    }
  });

  it('the checker\'s gRPC serves the agent\'s certificate and refuses the others', async () => {
    const agent = agentClient(`127.0.0.1:${ports.checkerGrpc}`, creds(pki.good, 'agent'));
    const view = await agentCheck(agent, 'netflow', 'grpc');
    agent.close();
    assert.equal(view.available, true);
    assert.equal(view.details.flows, FLOWS.length);
    assert.equal((view.details.nats as { state: string }).state, 'connected');
    await refusedEverywhere(`127.0.0.1:${ports.checkerGrpc}`, 'checker gRPC');
  });

  it('the core-extension\'s gRPC serves the poller\'s certificate and refuses the others', async () => {
    const poller = agentClient(`127.0.0.1:${ports.coreGrpc}`, creds(pki.good, 'poller'));
    await waitFor('the poller check to report available', async () => (await agentCheck(poller, 'netflow_metrics', 'netflow')).available, 60_000, 1000);
    const view = await agentCheck(poller, 'netflow_metrics', 'netflow');
    poller.close();
    assert.equal(view.serviceName, 'netflow_metrics');
    assert.equal(view.serviceType, 'netflow');
    await refusedEverywhere(`127.0.0.1:${ports.coreGrpc}`, 'core gRPC');
  });

  it('the core-extension\'s HTTP API refuses a request without a session or token', async () => {
    for (const headers of [{}, { authorization: 'Bearer not-a-token' }] as Record<string, string>[]) {
      const res = await fetch(`http://127.0.0.1:${ports.http}/api/netflow?time_range=last_15m`, { headers });
      assert.equal(res.status, 401);
    }
  });
});
