import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../common/config.js';
import { loadCheckerConfig } from '../../checker/config.js';
import { tempDir } from '../helpers/process.js';

function load(content: unknown) {
  const dir = tempDir('checker-config');
  try {
    const path = join(dir.path, 'netflow.json');
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return loadCheckerConfig(path, { required: true });
  } finally { dir.remove(); }
}

test('the PRD 7.1 example loads, with defaults for everything else', () => {
  const c = load({
    listen_addr: ':2055',
    nats_url: 'nats://localhost:4222',
    security: { mode: 'mtls', cert_dir: '/etc/serviceradar/certs', server_name: 'nats-serviceradar', role: 'checker', tls: { cert_file: 'netflow.pem', key_file: 'netflow-key.pem', ca_file: 'root.pem' } },
  });
  assert.equal(c.listen_addr, ':2055');
  assert.equal(c.security.mode, 'mtls');
  assert.equal(c.grpc_listen_addr, ':50084');
  assert.equal(c.drop_policy, 'drop_oldest');
  assert.equal(c.batch_linger_ms, 200);
  assert.equal(c.stream.max_bytes, 1024 * 1024 * 1024);
  assert.equal(c.stream.max_age_ms, 86_400_000);
  const d = load({ batch_linger_ms: '50ms', status_interval_ms: '10s', sampling_rates: [{ exporter: '192.0.2.1', rate: 100 }, { exporter: '2001:db8::1', rate: 10 }], default_sampling_rate: 1 });
  assert.equal(d.batch_linger_ms, 50);
  assert.equal(d.status_interval_ms, 10_000);
  assert.deepEqual(d.sampling_rates[1], { exporter: '2001:db8::1', rate: 10 });
  assert.equal(d.default_sampling_rate, 1);
});

// Every key, each with a value that must be refused; the message must name the key.
const INVALID: Array<[key: string, config: Record<string, unknown>]> = [
  ['listen_addr', { listen_addr: '2055' }],
  ['listen_addr', { listen_addr: ':70000' }],
  ['nats_url', { nats_url: '' }],
  ['nats_url', { nats_url: 'nats://ok:4222, ::bad' }],
  ['security.mode', { security: { mode: 'tls' } }],
  ['security.cert_dir', { security: { cert_dir: 5 } }],
  ['security.server_name', { security: { server_name: ['x'] } }],
  ['security.role', { security: { role: 1 } }],
  ['security.tls.cert_file', { security: { tls: { cert_file: 1 } } }],
  ['security.tls.key_file', { security: { tls: { key_file: false } } }],
  ['security.tls.ca_file', { security: { tls: { ca_file: {} } } }],
  ['grpc_listen_addr', { grpc_listen_addr: 'localhost' }],
  ['metrics_listen_addr', { metrics_listen_addr: 'x:y' }],
  ['collector_id', { collector_id: '' }],
  ['collector_id', { collector_id: 'has space' }],
  ['receive_buffer_bytes', { receive_buffer_bytes: 0 }],
  ['queue_size', { queue_size: -5 }],
  ['queue_size', { queue_size: 10, batch_size: 100 }],
  ['drop_policy', { drop_policy: 'drop_random' }],
  ['batch_size', { batch_size: 0 }],
  ['batch_size', { batch_size: 1_000_000 }],
  ['batch_linger_ms', { batch_linger_ms: 'soon' }],
  ['batch_linger_ms', { batch_linger_ms: 0 }],
  ['max_in_flight', { max_in_flight: 0 }],
  ['publish_timeout_ms', { publish_timeout_ms: '5 seconds' }],
  ['publish_timeout_ms', { publish_timeout_ms: 10 }],
  ['status_interval_ms', { status_interval_ms: 'often' }],
  ['status_interval_ms', { status_interval_ms: '10ms' }],
  ['shutdown_timeout_ms', { shutdown_timeout_ms: -1 }],
  ['default_sampling_rate', { default_sampling_rate: -1 }],
  ['sampling_rates', { sampling_rates: { '192.0.2.1': 100 } }],
  ['sampling_rates', { sampling_rates: [1] }],
  ['sampling_rates', { sampling_rates: [{ exporter: 'router-1', rate: 100 }] }],
  ['sampling_rates', { sampling_rates: [{ exporter: '192.0.2.1', rate: 0 }] }],
  ['sampling_rates', { sampling_rates: [{ exporter: '192.0.2.1', rate: 5, extra: 1 }] }],
  ['decoder.max_templates_per_exporter', { decoder: { max_templates_per_exporter: 1.5 } }],
  ['decoder.pending_per_exporter', { decoder: { pending_per_exporter: 'lots' } }],
  ['decoder.pending_ttl_ms', { decoder: { pending_ttl_ms: 'a minute' } }],
  ['stream.max_bytes', { stream: { max_bytes: 0 } }],
  ['stream.max_age_ms', { stream: { max_age_ms: 'forever' } }],
  ['stream.replicas', { stream: { replicas: 0 } }],
  ['listen_port', { listen_port: 2055 }],
  ['security.tls.cert', { security: { tls: { cert: 'x.pem' } } }],
];

test('each invalid key stops loading with a message naming it', () => {
  for (const [key, config] of INVALID) {
    assert.throws(() => load(config), (err: unknown) => {
      assert.ok(err instanceof ConfigError, `${key}: ${String(err)}`);
      // convict: "key: reason" for a bad value, "'key' not declared" for an unknown one.
      assert.ok(err.message.includes(` ${key}: `) || err.message.includes(`'${key}'`), `${JSON.stringify(config)} -> ${err.message}`);
      return true;
    }, JSON.stringify(config));
  }
});

test('an unreadable file, bad JSON and a missing named file are refused', () => {
  assert.throws(() => load('{"listen_addr": ":2055"'), /not valid JSON/);
  assert.throws(() => loadCheckerConfig('/nonexistent/netflow.json', { required: true }), /cannot read/);
  // The default path may be absent: defaults apply.
  assert.equal(loadCheckerConfig('/nonexistent/netflow.json').listen_addr, ':2055');
});

test('the command stops with the key named, exit code 2 and no stack trace', () => {
  const dir = tempDir('checker-cli');
  try {
    const path = join(dir.path, 'netflow.json');
    writeFileSync(path, JSON.stringify({ drop_policy: 'sometimes' }));
    const r = spawnSync(process.execPath, ['dist/cli.js', 'checker', '--config', path], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /drop_policy: must be one of/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    // mtls with certificates that are not there: named at start, before anything listens.
    writeFileSync(path, JSON.stringify({ security: { mode: 'mtls', cert_dir: dir.path }, listen_addr: '127.0.0.1:0', grpc_listen_addr: '127.0.0.1:0', metrics_listen_addr: '' }));
    const m = spawnSync(process.execPath, ['dist/cli.js', 'checker', '--config', path], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(m.status, 1, m.stderr);
    assert.match(m.stderr, /security\.tls\.cert_file: cannot read .*netflow\.pem/);
  } finally { dir.remove(); }
});
