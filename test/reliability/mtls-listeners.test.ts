// What test/tls/mtls.test.ts does not cover: every mTLS listener we run must also
// refuse a client certificate from the right CA that has expired, one issued
// for servers only (no clientAuth), and a client that offers only TLS 1.1; the
// right certificate is the control. Listeners: the checker's gRPC (its own
// process, in mtls mode), the core-extension's gRPC, and nats-server with the
// tls block scripts/gen-certs.sh writes. The Prometheus endpoints and the
// core's HTTP are plain HTTP by design (docs/RELIABILITY.md says why): in mtls
// mode they still serve only what they serve in none.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { connect } from 'nats';
import { agentClient, healthCheck, SERVING } from '../checker/agent-client.js';
import { freePort, spawnPeer, tempDir, waitFor, type Peer } from '../helpers/process.js';
import { startTlsNats, type TlsNats } from '../tls/nats-tls.js';
import { genCerts, type Certs } from '../tls/pki.js';
import { coreConfig, startCore } from '../core/fixtures.js';
import type { CoreService } from '../../core-extension/service.js';

const work = tempDir('mtls-listeners');
const dirs = { ch: tempDir('mtls-l-ch'), ice: tempDir('mtls-l-ice') };
let pki: Certs;
let nats: TlsNats;
let checker: Peer;
let core: CoreService;
const ports = { udp: 0, grpc: 0, metrics: 0 };

/** A client certificate signed by the deployment's CA, made with openssl as gen-certs.sh does. */
function issue(name: string, eku: string, days: number): void {
  const ext = join(pki.dir, `${name}.ext`);
  writeFileSync(ext, `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=${eku}\n`);
  execFileSync('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${name}`, '-keyout', pki.file(`${name}-key.pem`), '-out', pki.file(`${name}.csr`)], { stdio: 'ignore' });
  execFileSync('openssl', ['x509', '-req', '-in', pki.file(`${name}.csr`), '-CA', pki.file('root.pem'), '-CAkey', pki.file('ca-private/root-key.pem'), '-CAserial', pki.file('ca-private/root.srl'),
    '-days', String(days), '-sha256', '-extfile', ext, '-out', pki.file(`${name}.pem`)], { stdio: 'ignore' });
}

const security = (role: string, cert: string) => ({
  mode: 'mtls', cert_dir: pki.dir, server_name: 'nats-serviceradar', role, tls: { cert_file: `${cert}.pem`, key_file: `${cert}-key.pem`, ca_file: 'root.pem' },
});

before(async () => {
  pki = genCerts(work.path + '/pki');
  issue('expired-agent', 'clientAuth', -1);
  issue('server-only', 'serverAuth', 2);
  nats = await startTlsNats(readFileSync(pki.file('nats-server-tls.conf'), 'utf8'));
  for (const k of ['udp', 'grpc', 'metrics'] as const) ports[k] = await freePort();
  const cfg = join(work.path, 'checker.json');
  writeFileSync(cfg, JSON.stringify({
    listen_addr: `127.0.0.1:${ports.udp}`, nats_url: nats.url, grpc_listen_addr: `127.0.0.1:${ports.grpc}`, metrics_listen_addr: `127.0.0.1:${ports.metrics}`,
    security: security('checker', 'netflow'),
  }));
  checker = spawnPeer(process.execPath, ['dist/cli.js', 'checker', '--config', cfg]);
  const c = await coreConfig({ netflow: { clickhouse_data_dir: dirs.ch.path, iceberg_path: dirs.ice.path } });
  c.security = { ...security('core', 'core'), mode: 'mtls' } as typeof c.security;
  core = await startCore(c);
  await waitFor('the checker gRPC', async () => {
    if (checker.proc.exitCode !== null) throw new Error(`checker exited: ${checker.output()}`);
    const cl = agentClient(`127.0.0.1:${ports.grpc}`, creds('agent'));
    try { return (await healthCheck(cl)) === SERVING; } catch { return false; } finally { cl.close(); }
  }, 60_000, 300);
});

after(async () => {
  await checker?.kill();
  await core?.stop();
  await nats?.stop();
  work.remove();
  for (const d of Object.values(dirs)) d.remove();
});

function creds(who: string): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(pki.read('root.pem'), pki.read(`${who}-key.pem`), pki.read(`${who}.pem`));
}

/** The right certificate, but the client will speak TLS 1.1 at most. */
function tls11(): grpc.ChannelCredentials {
  return grpc.credentials.createFromSecureContext(createSecureContext({ ca: pki.read('root.pem'), cert: pki.read('agent.pem'), key: pki.read('agent-key.pem'), minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }));
}

async function grpcListener(address: string, label: string): Promise<void> {
  const ok = agentClient(address, creds('agent'));
  assert.equal(await healthCheck(ok), SERVING, `${label}: the right certificate is served`);
  ok.close();
  for (const [what, cr] of [['an expired certificate of our CA', creds('expired-agent')], ['a server-only certificate of our CA', creds('server-only')], ['TLS 1.1', tls11()]] as const) {
    const c = agentClient(address, cr);
    await assert.rejects(healthCheck(c), (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE, `${label}: ${what} is refused`);
    c.close();
  }
}

describe('mTLS listeners refuse what they should', { timeout: 300_000 }, () => {
  it('the checker gRPC', () => grpcListener(`127.0.0.1:${ports.grpc}`, 'checker gRPC'));

  it('the core-extension gRPC', () => grpcListener(`127.0.0.1:${core.grpcPort}`, 'core gRPC'));

  it('nats-server as gen-certs.sh configures it', async () => {
    const tls = (who: string, extra: Record<string, unknown> = {}) => ({ ca: pki.read('root.pem').toString(), cert: pki.read(`${who}.pem`).toString(), key: pki.read(`${who}-key.pem`).toString(), ...extra });
    const nc = await connect({ servers: nats.url, reconnect: false, timeout: 3000, tls: tls('agent') });
    await nc.close();
    for (const [what, t] of [['an expired certificate of our CA', tls('expired-agent')], ['a server-only certificate of our CA', tls('server-only')], ['TLS 1.1', tls('agent', { minVersion: 'TLSv1', maxVersion: 'TLSv1.1' })]] as const) {
      await assert.rejects(connect({ servers: nats.url, reconnect: false, timeout: 3000, tls: t }), what);
    }
  });

  it('the checker metrics endpoint is plain HTTP by design, and serves GET /metrics only', async () => {
    const base = `http://127.0.0.1:${ports.metrics}`;
    const m = await fetch(`${base}/metrics`);
    assert.equal(m.status, 200);
    assert.match(await m.text(), /netflow_/);
    for (const [method, path] of [['GET', '/'], ['GET', '/metrics/../etc/passwd'], ['POST', '/metrics'], ['GET', '/debug/pprof']]) {
      assert.equal((await fetch(`${base}${path}`, { method })).status, 404, `${method} ${path}`);
    }
  });

  it('the core-extension HTTP is plain by design, and every API route still needs a session or token', async () => {
    for (const path of ['/api/netflow', '/api/netflow/status', '/api/netflow/openapi.json', '/api/session']) {
      assert.equal((await fetch(`http://127.0.0.1:${core.httpPort}${path}`)).status, 401, path);
    }
  });
});
