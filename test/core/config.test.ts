// core.json: the PRD's netflow block with defaults, strict keys, and errors that name the key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../common/config.js';
import { loadCoreConfig } from '../../core-extension/config.js';
import { hashPassword, verifyPassword, hashToken } from '../../core-extension/api/auth.js';
import { tempDir } from '../helpers/process.js';

const dir = tempDir('core-config');
const write = (doc: unknown) => { const p = join(dir.path, `c${Math.random()}.json`); writeFileSync(p, JSON.stringify(doc)); return p; };

test('the PRD block loads; durations become milliseconds; defaults fill the rest', async () => {
  const cfg = loadCoreConfig(write({ netflow: { clickhouse_url: 'http://localhost:8123', iceberg_catalog: 'http://localhost:8080', iceberg_table: 'default.netflow', realtime_threshold: '2d' } }));
  assert.equal(cfg.netflow.realtime_threshold, 2 * 86_400_000);
  assert.equal(cfg.netflow.query_timeout, 30_000);
  assert.equal(cfg.http.listen_addr, ':8090');
  assert.equal(cfg.grpc.listen_addr, ':50052');
  assert.equal(cfg.security.mode, 'none');
});

test('each bad key stops start-up with its name', async () => {
  const cases: [unknown, RegExp][] = [
    [{ netflow: { clickhouse_url: 'tcp://localhost:9000' } }, /netflow\.clickhouse_url.*native protocol.*http:\/\/localhost:8123/],
    [{ netflow: { realtime_threshold: 'two days' } }, /netflow\.realtime_threshold/],
    [{ netflow: { colour: 'blue' } }, /netflow\.colour/],
    [{ http: { listen_addr: 'nowhere' } }, /http\.listen_addr/],
    [{ users: [{ username: 'a', password_hash: 'plaintext' }] }, /users.*password_hash.*serviceradar-netflow core hash/],
    [{ users: [{ username: 'a', password: 'x', password_hash: 'y' }] }, /users.*unknown key password/],
    [{ api_tokens: [{ name: 'a', token_hash: 'abc' }] }, /api_tokens/],
    [{ security: { mode: 'tls' } }, /security\.mode/],
  ];
  for (const [doc, want] of cases) {
    assert.throws(() => loadCoreConfig(write(doc)), (e: unknown) => e instanceof ConfigError && want.test(e.message), JSON.stringify(doc));
  }
});

test('password hashes verify only the right password; token hashes are SHA-256', async () => {
  const h = await hashPassword('s3cret');
  assert.match(h, /^scrypt\$16384\$8\$1\$/);
  assert.equal(await verifyPassword('s3cret', h), true);
  assert.equal(await verifyPassword('s3cret ', h), false);
  assert.notEqual(await hashPassword('s3cret'), h, 'salted');
  // sha256("abc"), from the FIPS 180-2 example.
  assert.equal(hashToken('abc'), 'sha256$ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  loadCoreConfig(write({ users: [{ username: 'a', password_hash: h }], api_tokens: [{ name: 't', token_hash: hashToken('abc') }] }));
  dir.remove();
});
