// The parquet-writer config: the PRD 7.3 file loads as it is, and every bad
// key stops start-up with its name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ConfigError } from '../../common/config.js';
import { REPO } from '../helpers/iceberg-peers.js';
import { loadParquetWriterConfig } from '../../consumers/iceberg/config.js';
import { tempDir } from '../helpers/process.js';

function load(content: object) {
  const dir = tempDir('iceberg-config');
  try {
    const path = join(dir.path, 'netflow-parquet.json');
    writeFileSync(path, JSON.stringify(content));
    return loadParquetWriterConfig(path, { required: true });
  } finally { dir.remove(); }
}

test('the PRD example (section 7.3) loads', () => {
  const c = load({
    nats_url: 'nats://localhost:4222', output_path: '/path/to/parquet', iceberg_catalog: 'http://localhost:8080', iceberg_table: 'default.netflow',
    batch_size: 10000, batch_interval: '5m', security: { mode: 'mtls', cert_dir: '/etc/serviceradar/certs', server_name: 'nats-serviceradar' },
  });
  assert.equal(c.batch_size, 10_000);
  assert.equal(c.batch_interval, 300_000);
  assert.equal(c.iceberg_catalog, 'http://localhost:8080');
  assert.equal(c.retention_days, 90);
  assert.equal(c.security.mode, 'mtls');
});

test('defaults: filesystem catalog, 90 days, 200k records or 5 minutes per commit', () => {
  const c = loadParquetWriterConfig(undefined);
  assert.equal(c.iceberg_catalog, '');
  assert.equal(c.iceberg_table, 'default.netflow');
  assert.equal(c.batch_size, 200_000);
  assert.equal(c.batch_interval, 5 * 60_000);
  assert.equal(c.snapshot_retention, 7 * 86_400_000);
  assert.equal(c.ack_wait, 60_000);
});

const bad: [string, object, RegExp][] = [
  ['unknown key', { batchsize: 5 }, /batchsize/],
  ['batch_size', { batch_size: 0 }, /batch_size/],
  ['batch_interval', { batch_interval: '5 minutes' }, /batch_interval/],
  ['iceberg_catalog', { iceberg_catalog: 'ftp://x' }, /iceberg_catalog/],
  ['iceberg_table', { iceberg_table: 'netflow' }, /iceberg_table/],
  ['retention_days', { retention_days: 0 }, /retention_days/],
  ['nats_url', { nats_url: '' }, /nats_url/],
  ['ack_wait too short for the heartbeat', { ack_wait: '1s' }, /ack_wait/],
  ['parquet.compression_level', { parquet: { compression_level: 30 } }, /parquet\.compression_level/],
  ['parquet.memory_limit', { parquet: { memory_limit: 'lots' } }, /parquet\.memory_limit/],
  ['output_path for the filesystem catalog', { output_path: '' }, /output_path/],
  ['security.mode', { security: { mode: 'tls' } }, /security\.mode/],
];

for (const [what, content, key] of bad) {
  test(`invalid ${what} is refused with its key`, () => {
    assert.throws(() => load(content), (e: unknown) => e instanceof ConfigError && key.test((e as Error).message));
  });
}

test('the command refuses a bad config with the key, exit code 2 and no stack trace', () => {
  const dir = tempDir('iceberg-cli');
  try {
    const path = join(dir.path, 'netflow-parquet.json');
    writeFileSync(path, JSON.stringify({ retention_days: -1 }));
    const r = spawnSync(process.execPath, [join(REPO, 'dist', 'cli.js'), 'parquet-writer', '--config', path], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /retention_days/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  } finally { dir.remove(); }
});
