// The poller check's gRPC port with security.mode mtls: a poller with a
// certificate from the configured CA is answered; one without a certificate,
// or with one from another CA, is refused in the handshake. (A fresh install:
// no tables yet, so the check is available with no traffic.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { makePki, type Pki } from '../checker/certs.js';
import { agentClient, getStatus, healthCheck, SERVING } from '../checker/agent-client.js';
import { tempDir } from '../helpers/process.js';
import { coreConfig, startCore } from './fixtures.js';
import type { CoreService } from '../../core-extension/service.js';

let pki: Pki;
let core: CoreService;
const dirs = { ch: tempDir('mtls-ch'), ice: tempDir('mtls-ice') };

before(async () => {
  pki = makePki();
  const cfg = await coreConfig({ netflow: { clickhouse_data_dir: dirs.ch.path, iceberg_path: dirs.ice.path } });
  cfg.security = { mode: 'mtls', cert_dir: pki.dir, server_name: 'localhost', role: 'core', tls: { cert_file: 'server.pem', key_file: 'server-key.pem', ca_file: 'root.pem' } };
  core = await startCore(cfg);
});

after(async () => {
  await core?.stop();
  pki?.remove();
  for (const d of Object.values(dirs)) d.remove();
});

async function attempt(creds: grpc.ChannelCredentials) {
  const client = agentClient(`localhost:${core.grpcPort}`, creds);
  try {
    const health = await healthCheck(client);
    return { health, status: await getStatus(client, 'netflow_metrics', 'netflow') };
  } finally {
    client.close();
  }
}

test('mtls: a signed poller gets the JSON status; no certificate or a foreign CA is refused', async () => {
  const ok = await attempt(grpc.credentials.createSsl(pki.read('root.pem'), pki.read('client-key.pem'), pki.read('client.pem')));
  assert.equal(ok.health, SERVING);
  assert.equal(ok.status.available, true);
  const doc = JSON.parse(ok.status.message);
  assert.equal(doc.status, 'idle');
  assert.equal(doc.flows_5m, 0);
  assert.equal(doc.writers, null);
  const refused = (e: unknown) => (e as grpc.ServiceError).code === grpc.status.UNAVAILABLE;
  await assert.rejects(attempt(grpc.credentials.createSsl(pki.read('root.pem'))), refused);
  await assert.rejects(attempt(grpc.credentials.createSsl(pki.read('root.pem'), pki.read('rogue-client-key.pem'), pki.read('rogue-client.pem'))), refused);
  await assert.rejects(attempt(grpc.credentials.createInsecure()), refused);
});
