// The writer's pure parts: its config (every key named on error, the password
// never shown), the address parser (against addresses written out by hand and
// Node's own notion of validity) and the row encoder's refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyRecord, toColumns } from '../../common/flow.js';
import { describeConfig, loadWriterConfig } from '../../consumers/clickhouse/config.js';
import { encodeMessage, markerRow, parseIp, RecordError } from '../../consumers/clickhouse/rows.js';
import { FLOW_COLUMNS } from '../../consumers/clickhouse/schema.js';

function configFile(body: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'srnf-chcfg-'));
  const path = join(dir, 'netflow-clickhouse.json');
  writeFileSync(path, typeof body === 'string' ? body : JSON.stringify(body));
  return path;
}

test('defaults: embedded chDB, batches of 100000, two days', () => {
  const c = loadWriterConfig(undefined);
  assert.equal(c.clickhouse_url, '');
  assert.equal(c.batch_size, 100_000);
  assert.equal(c.retention, 2 * 86_400_000);
  assert.equal(c.clickhouse_database, 'netflow');
  assert.equal(c.stream.max_bytes, 1024 * 1024 * 1024);
});

test('the PRD file shape loads, with durations in its notation', () => {
  const c = loadWriterConfig(configFile({
    nats_url: 'nats://localhost:4222', clickhouse_url: 'https://ch.example:8443', batch_size: 5000,
    clickhouse_user: 'netflow', clickhouse_password: 'pw', clickhouse_tls: { ca_file: '/etc/ssl/ca.pem', cert_file: '', key_file: '' },
    retention: '36h', batch_wait: '1s', security: { mode: 'mtls', cert_dir: '/etc/serviceradar/certs', server_name: 'nats-serviceradar' },
  }), { required: true });
  assert.equal(c.retention, 36 * 3_600_000);
  assert.equal(c.batch_wait, 1000);
  assert.equal(c.security.mode, 'mtls');
});

test('invalid values are refused with their key named', () => {
  const bad: [unknown, RegExp][] = [
    [{ clickhouse_url: 'tcp://localhost:9000' }, /clickhouse_url: .*native protocol.*http:\/\/localhost:8123/],
    [{ clickhouse_url: 'ftp://x' }, /clickhouse_url/],
    [{ batch_size: 0 }, /batch_size/],
    [{ batch_size: 2_000_000 }, /batch_size/],
    [{ clickhouse_database: 'net-flow' }, /clickhouse_database/],
    [{ retention: 'two days' }, /retention/],
    [{ retention: '30m' }, /retention: must be at least 1h/],
    [{ ack_wait: '1s', batch_wait: '2s' }, /ack_wait/],
    [{ clickhouse_tls: { ca_file: '/x.pem', cert_file: '', key_file: '' } }, /clickhouse_tls: only applies to an https/],
    [{ batchsize: 10 }, /batchsize/],
    [{ clickhouse_data_dir: '' }, /clickhouse_data_dir/],
  ];
  for (const [body, pattern] of bad) assert.throws(() => loadWriterConfig(configFile(body), { required: true }), pattern, JSON.stringify(body));
  assert.throws(() => loadWriterConfig(configFile('{"batch_size": '), { required: true }), /not valid JSON/);
});

test('the password never shows: not in errors, not in what is logged', () => {
  const secret = 'hunter2-very-secret';
  assert.throws(() => loadWriterConfig(configFile({ clickhouse_url: `http://u:${secret}@ch:8123`, clickhouse_password: secret }), { required: true }), (e: Error) => {
    assert.match(e.message, /clickhouse_url: must not carry credentials/);
    assert.ok(!e.message.includes(secret), e.message);
    return true;
  });
  const c = loadWriterConfig(configFile({ clickhouse_url: 'http://ch:8123', clickhouse_password: secret }), { required: true });
  assert.ok(!JSON.stringify(describeConfig(c)).includes(secret));
});

/** Hex of the 16 bytes parseIp gives, or null when it refuses. */
function ipHex(text: string): string | null {
  const out = new Uint8Array(16);
  const bytes = Buffer.from(text);
  return parseIp(bytes, 0, bytes.length, out) ? Buffer.from(out).toString('hex') : null;
}

test('addresses parse to the 16 bytes written out by hand', () => {
  const cases: [string, string][] = [
    ['', '00000000000000000000000000000000'],
    ['0.0.0.0', '00000000000000000000ffff00000000'],
    ['10.9.10.92', '00000000000000000000ffff0a090a5c'],
    ['255.255.255.255', '00000000000000000000ffffffffffff'],
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['2001:db8::', '20010db8000000000000000000000000'],
    ['2001:DB8:0:0:8:800:200C:417A', '20010db80000000000080800200c417a'],
    ['fe80::a09:5c0a', 'fe80' + '0000'.repeat(5) + '0a095c0a'],
    ['::ffff:203.0.113.9', '00000000000000000000ffffcb007109'],
    ['64:ff9b::192.0.2.33', '0064ff9b' + '0000'.repeat(4) + 'c0000221'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
    ['1::8', '00010000000000000000000000000008'],
  ];
  for (const [text, hex] of cases) assert.equal(ipHex(text), hex, text);
});

test('what is not an address is refused, as Node judges it', () => {
  const inputs = ['1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.-4', ' 1.2.3.4', '1.2.3.4 ', 'a.b.c.d', ':', ':::', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::',
    'fe80::1%eth0', '::ffff:1.2.3', '1:2:3:4:5:6:7:1.2.3.4', 'g::1', '1:', ':1', '1.2.3.4:80', 'localhost'];
  for (const text of inputs) {
    assert.equal(isIP(text) === 0 || text.includes('%'), true, `Node also refuses ${text}`);
    assert.equal(ipHex(text), null, text);
  }
  for (const text of ['1:2:3:4:5:6:1.2.3.4', '::1.2.3.4', '1::', '::2:3:4:5:6:7:8']) {
    assert.notEqual(isIP(text), 0, text);
    assert.notEqual(ipHex(text), null, text);
  }
});

test('a record that does not fit its columns is refused with its index, field and value', () => {
  const r = () => ({ ...emptyRecord(), timestamp: Date.now(), src_ip: '10.0.0.1' });
  const cases: [Partial<ReturnType<typeof emptyRecord>>, RegExp][] = [
    [{ src_port: 65_536 }, /record 1: src_port 65536 is not an integer from 0 to 65535/],
    [{ protocol: 256 }, /protocol 256/],
    // A negative count reaches the writer as the uint64 two's complement.
    [{ bytes: -1 }, /bytes 18446744073709552000 is not an integer from 0 to 9007199254740991/],
    [{ timestamp: 0 }, /timestamp 0 is not a time/],
    [{ timestamp: 2 ** 32 * 1000 }, /timestamp/],
    [{ flow_start: -5 }, /flow_start -5/],
    [{ dst_ip: '10.0.0.256' }, /dst_ip "10.0.0.256" is not an IP address/],
    [{ next_hop: 'x'.repeat(500) }, /next_hop "x{64}" is not/],
  ];
  for (const [patch, pattern] of cases) {
    assert.throws(() => encodeMessage(toColumns({ records: [r(), { ...r(), ...patch }], collector_id: 'c' })), (e: unknown) => e instanceof RecordError && pattern.test((e as Error).message), JSON.stringify(patch).slice(0, 80));
  }
});

test('rows split by UTC day; the marker row has the same columns', () => {
  const day = 86_400_000;
  const midnight = Math.floor(Date.now() / day) * day;
  const recs = [midnight - 1500, midnight + 2500, midnight - 500].map((t) => ({ ...emptyRecord(), timestamp: t }));
  const { chunks } = encodeMessage(toColumns({ records: recs, collector_id: 'c' }));
  assert.deepEqual(chunks.map((c) => [c.day, c.rows, c.markerTs]), [[midnight / day - 1, 2, midnight / 1000 - 2], [midnight / day, 1, midnight / 1000 + 2]]);
  for (const c of chunks) assert.equal(c.data.toString('latin1').split('\n')[0]!.split('\t').length, FLOW_COLUMNS.length);
  assert.equal(markerRow(7, 1000).toString('latin1').trimEnd().split('\t').length, FLOW_COLUMNS.length);
});
