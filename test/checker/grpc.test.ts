import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { startCheckerServer, type CheckerStatus } from '../../common/grpc.js';
import { createLogger } from '../../common/log.js';
import type { SecurityConfig } from '../../common/security.js';
import { agentCheck, agentClient, getStatus, healthCheck, NOT_SERVING, SERVING } from './agent-client.js';
import { makePki, type Pki } from './certs.js';

const log = createLogger('test', 'silent');
const none: SecurityConfig = { mode: 'none', cert_dir: '', server_name: '', role: 'checker', tls: { cert_file: '', key_file: '', ca_file: '' } };

let pki: Pki;
before(() => { pki = makePki(); });
after(() => pki.remove());

test('the agent sequence: Health/Check "" -> SERVING, GetStatus -> available, JSON message, ns response time', async () => {
  let current: CheckerStatus = { available: true, message: { flows: 42, nested: { exporters: ['192.0.2.1'] } } };
  const seen: Array<{ service_name: string; service_type: string }> = [];
  const server = await startCheckerServer({
    listen: '127.0.0.1:0', security: none, serviceName: 'netflow', serviceType: 'grpc', log,
    status: async (req) => { seen.push({ service_name: req.service_name, service_type: req.service_type }); await new Promise((r) => setTimeout(r, 20)); return current; },
  });
  const client = agentClient(`127.0.0.1:${server.port}`);
  try {
    const view = await agentCheck(client, 'netflow', 'grpc');
    assert.equal(view.available, true);
    assert.deepEqual(view.details, { flows: 42, nested: { exporters: ['192.0.2.1'] } });
    assert.equal(view.serviceName, 'netflow');
    assert.equal(view.serviceType, 'grpc');
    // The callback slept 20 ms (a timer may fire a little early): nanoseconds, not ms or µs.
    assert.ok(view.responseTimeNs >= 10_000_000 && view.responseTimeNs < 5_000_000_000, String(view.responseTimeNs));
    assert.deepEqual(seen.at(-1), { service_name: 'netflow', service_type: 'grpc' });

    // Unavailable: health says NOT_SERVING (the agent stops there) and GetStatus agrees.
    current = { available: false, message: { nats: 'disconnected' } };
    assert.equal(await healthCheck(client), NOT_SERVING);
    const s = await getStatus(client, 'netflow', 'grpc');
    assert.equal(s.available, false);
    assert.deepEqual(JSON.parse(s.message), { nats: 'disconnected' });
    await assert.rejects(agentCheck(client), /unhealthy/);

    // The health protocol: the named service answers, an unknown one is NOT_FOUND.
    current = { available: true, message: {} };
    assert.equal(await healthCheck(client, 'netflow'), SERVING);
    await assert.rejects(healthCheck(client, 'other'), (e: unknown) => (e as grpc.ServiceError).code === grpc.status.NOT_FOUND);
  } finally {
    client.close();
    await server.stop();
  }
});

test('a status callback that throws is reported as unavailable with the reason, not a crash', async () => {
  const server = await startCheckerServer({ listen: '127.0.0.1:0', security: none, serviceName: 'netflow', serviceType: 'grpc', log, status: () => { throw new Error('boom'); } });
  const client = agentClient(`127.0.0.1:${server.port}`);
  try {
    assert.equal(await healthCheck(client), NOT_SERVING);
    const s = await getStatus(client, '', '');
    assert.equal(s.available, false);
    assert.deepEqual(JSON.parse(s.message), { error: 'boom' });
    // Empty request names are filled with the server's own.
    assert.equal(s.serviceName, 'netflow');
  } finally {
    client.close();
    await server.stop();
  }
});

test('mtls: a client without a certificate, or with one from another CA, is refused; a signed one is served', async () => {
  const security: SecurityConfig = { mode: 'mtls', cert_dir: pki.dir, server_name: 'localhost', role: 'checker', tls: { cert_file: 'server.pem', key_file: 'server-key.pem', ca_file: 'root.pem' } };
  const server = await startCheckerServer({ listen: '127.0.0.1:0', security, serviceName: 'netflow', serviceType: 'grpc', log, status: () => ({ available: true, message: { ok: true } }) });
  const address = `127.0.0.1:${server.port}`;
  const opts = { 'grpc.ssl_target_name_override': 'localhost' };
  const attempt = async (creds: grpc.ChannelCredentials) => {
    const client = new grpc.Client(address, creds, opts);
    try { return await healthCheck(client); } finally { client.close(); }
  };
  try {
    assert.equal(await attempt(grpc.credentials.createSsl(pki.read('root.pem'), pki.read('client-key.pem'), pki.read('client.pem'))), SERVING);
    await assert.rejects(attempt(grpc.credentials.createSsl(pki.read('root.pem'))), (e: unknown) => (e as grpc.ServiceError).code === grpc.status.UNAVAILABLE);
    await assert.rejects(attempt(grpc.credentials.createSsl(pki.read('root.pem'), pki.read('rogue-client-key.pem'), pki.read('rogue-client.pem'))), (e: unknown) => (e as grpc.ServiceError).code === grpc.status.UNAVAILABLE);
    await assert.rejects(attempt(grpc.credentials.createInsecure()), (e: unknown) => (e as grpc.ServiceError).code === grpc.status.UNAVAILABLE);
  } finally {
    await server.stop();
  }
});

test('mtls with a missing key file names the key', async () => {
  const security: SecurityConfig = { mode: 'mtls', cert_dir: pki.dir, server_name: '', role: 'checker', tls: { cert_file: 'server.pem', key_file: 'absent-key.pem', ca_file: 'root.pem' } };
  await assert.rejects(startCheckerServer({ listen: '127.0.0.1:0', security, serviceName: 'netflow', serviceType: 'grpc', log, status: () => ({ available: true, message: {} }) }), /security\.tls\.key_file: cannot read/);
});
