// Hostile HTTP clients against a real running core-extension (chDB hot tier and
// an Iceberg cold tier filled by the writers' modules, as test/core does):
// oversized and malformed requests, bad parameters, path traversal on the UI
// files (encodings, absolute paths, symlinks out of the folder, NUL bytes),
// slow clients that send headers or bodies a byte at a time, and more queries
// at once than the core runs. Every case: the answer is the clear status and
// message, nothing outside the UI folder is ever sent, and the service goes on
// answering everyone else meanwhile and after.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '../helpers/process.js';
import { makeRecords } from '../core/records.js';
import { call, coreConfig, startCore, writeCold, writeHot, TOKEN, USER } from '../core/fixtures.js';
import type { CoreService } from '../../core-extension/service.js';
import { HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS } from '../../core-extension/api/http.js';

const HOUR = 3_600_000;
const NOW = Math.floor(Date.now() / 1000) * 1000;
const records = makeRecords(20_000, NOW - 30 * HOUR, NOW - 60_000);
const SECRET = 'srnf-outside-the-ui-folder';
const MAX_CONCURRENT = 2;

const dirs = { ch: tempDir('abuse-ch'), ice: tempDir('abuse-ice'), root: tempDir('abuse-root') };
const ui = join(dirs.root.path, 'ui');
let core: CoreService;

before(async () => {
  await writeHot({ clickhouse_url: '', clickhouse_data_dir: dirs.ch.path }, records);
  await writeCold(dirs.ice.path, records);
  // The UI folder, with a secret beside it and symlinks that lead out of it.
  mkdirSync(join(ui, '_next', 'static'), { recursive: true });
  writeFileSync(join(ui, 'index.html'), '<html>ui</html>');
  writeFileSync(join(ui, '404.html'), '<html>missing</html>');
  writeFileSync(join(ui, '_next', 'static', 'app.js'), 'console.log(1)');
  mkdirSync(join(dirs.root.path, 'outside'));
  writeFileSync(join(dirs.root.path, 'outside', 'secret.txt'), SECRET);
  writeFileSync(join(dirs.root.path, 'secret.txt'), SECRET);
  symlinkSync(join(dirs.root.path, 'outside'), join(ui, 'linked-dir'));
  symlinkSync(join(dirs.root.path, 'secret.txt'), join(ui, 'linked-file.txt'));
  symlinkSync('../secret.txt', join(ui, 'relative-link.txt'));
  symlinkSync('/etc/passwd', join(ui, 'passwd.txt'));
  symlinkSync(join(ui, 'index.html'), join(ui, 'inside-link.html'));
  core = await startCore(await coreConfig({
    netflow: { clickhouse_data_dir: dirs.ch.path, iceberg_path: dirs.ice.path, max_concurrent_queries: MAX_CONCURRENT },
    http: { ui_dir: ui },
  }));
});

after(async () => {
  await core?.stop();
  for (const d of Object.values(dirs)) d.remove();
});

const port = () => core.httpPort;
const QUERY = `/api/netflow/realtime?time_range=last_24h&group_by=protocol`;

/** The service answers a query correctly right now. */
async function stillServing(): Promise<void> {
  const r = await call(port(), 'GET', QUERY, { token: TOKEN });
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json().results.length > 0);
}

interface RawReply { text: string; status: number; closed: boolean; ms: number }

/** Writes `bytes` on a fresh connection and reads until the server closes it or `waitMs` passes. */
function raw(bytes: string | Buffer, waitMs = 3000): Promise<RawReply> {
  return new Promise((resolve) => {
    const started = Date.now();
    const s = connect(port(), '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ text, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), closed, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', () => finish(true));
    s.on('error', () => finish(true));
    s.write(bytes);
  });
}

/** Opens a connection and sends `head`, then one byte of `trickle` every `everyMs` until the server closes it. */
function trickle(head: string, drip: string, everyMs: number, giveUpMs: number): Promise<RawReply> {
  return new Promise((resolve) => {
    const started = Date.now();
    const s: Socket = connect(port(), '127.0.0.1');
    const chunks: Buffer[] = [];
    let i = 0;
    const timer = setInterval(() => { if (!s.destroyed) s.write(drip[i++ % drip.length]!); }, everyMs);
    const stop = setTimeout(() => finish(false), giveUpMs);
    let done = false;
    function finish(closed: boolean) {
      if (done) return;
      done = true;
      clearInterval(timer); clearTimeout(stop);
      s.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ text, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), closed, ms: Date.now() - started });
    }
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', () => finish(true));
    s.on('error', () => finish(true));
    s.write(head);
  });
}

test('oversized bodies are refused with 413 that the client receives, and the server stays up', async () => {
  const big = JSON.stringify({ username: USER.username, password: 'x'.repeat(1 << 20) });
  const r = await raw(`POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${big.length}\r\n\r\n${big}`);
  assert.equal(r.status, 413, r.text.slice(0, 200));
  assert.match(r.text, /"error":"body too large/);
  // A declared length over the limit is refused before the body is read.
  const declared = await raw(`POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{`);
  assert.equal(declared.status, 413);
  // Chunked, with no length to go by.
  const chunk = 'a'.repeat(4096);
  const chunked = await raw(`POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${`1000\r\n${chunk}\r\n`.repeat(8)}`);
  assert.equal(chunked.status, 413);
  await stillServing();
});

test('oversized URLs and headers get 414/431, not a crash', async () => {
  const longUrl = await raw(`GET /api/netflow?filter=${'src_ip=10.0.0.1|'.repeat(4000)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
  assert.ok(longUrl.status === 414 || longUrl.status === 431, `long URL: ${longUrl.status}`);
  const bigHeader = await raw(`GET / HTTP/1.1\r\nHost: x\r\nCookie: ${'a=b; '.repeat(20_000)}\r\n\r\n`);
  assert.equal(bigHeader.status, 431);
  const manyHeaders = await raw(`GET / HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3000 }, (_, i) => `X-${i}: y\r\n`).join('')}\r\n`);
  assert.ok(manyHeaders.status === 431 || manyHeaders.status === 200, `many headers: ${manyHeaders.status}`);
  await stillServing();
});

test('malformed JSON and wrong shapes at /api/login are 400/415 with the reason, never 500', async () => {
  const cases: [string, string, number, RegExp][] = [
    ['{"username": "analyst", "password": ', 'application/json', 400, /not valid JSON/],
    ['null', 'application/json', 400, /body must be/],
    ['[1,2,3]', 'application/json', 400, /body must be/],
    ['"just a string"', 'application/json', 400, /body must be/],
    ['{"username": 1, "password": {"$ne": null}}', 'application/json', 400, /body must be/],
    ['{"__proto__": {"username": "analyst"}, "password": "x"}', 'application/json', 400, /body must be/],
    ['\u0000\u0001\u0002', 'application/json', 400, /not valid JSON/],
    ['username=analyst&password=x', 'application/x-www-form-urlencoded', 415, /application\/json/],
    [JSON.stringify({ username: 'a'.repeat(4000), password: 'b'.repeat(4000) }), 'application/json', 401, /invalid credentials/],
  ];
  for (const [body, type, status, message] of cases) {
    const r = await call(port(), 'POST', '/api/login', { body, contentType: type });
    assert.equal(r.status, status, `${body.slice(0, 40)}: ${r.text}`);
    assert.match(r.json().error, message);
    assert.doesNotMatch(r.text, /at .*\.js:\d+/, 'no stack trace');
  }
  await stillServing();
});

test('bad and huge parameters are 400 naming the parameter, never 500', async () => {
  const alternatives = Array.from({ length: 1001 }, (_, i) => `${i % 65536}`).join('|');
  const cases: [string, string][] = [
    ['limit=99999999999999999999&group_by=src_ip', 'limit'],
    ['start=99999999999999999999', 'start'],
    ['start=-1', 'start'],
    ['start=2025-02-30T00:00:00Z', 'start'],
    ['start=1&end=0', 'end'],
    ['time_range=last_1h&time_range=last_1h', 'time_range'],
    [`group_by=${'src_ip,'.repeat(500)}`, 'group_by'],
    [`filter=src_port=${alternatives}`, 'filter'],
    [`${'filter=protocol%3D6&'.repeat(65)}x=1`, 'x'],
    [Array.from({ length: 65 }, () => 'filter=protocol%3D6').join('&'), 'filter'],
    ['filter=src_ip=999.1.1.1', 'filter'],
    ['filter=src_ip=10.0.0.0/33', 'filter'],
    [`filter=src_ip=${'1'.repeat(5000)}`, 'filter'],
    ['interval=1s&group_by=time&time_range=last_90d', 'interval'],
    ['interval=9999999w&group_by=time', 'interval'],
    ['as_of=99999999999999999999', 'as_of'],
    ['format=xml', 'format'],
    ['%ff%fe=1', '\ufffd\ufffd'],
    ['metric=bytes%00', 'metric'],
  ];
  for (const [qs, parameter] of cases) {
    const r = await call(port(), 'GET', `/api/netflow?${qs}`, { token: TOKEN });
    assert.equal(r.status, 400, `${qs.slice(0, 60)}: ${r.status} ${r.text.slice(0, 200)}`);
    assert.equal(r.json().parameter, parameter, qs.slice(0, 60));
    assert.ok(r.json().error.length < 400, 'the message quotes the input only in short');
  }
  await stillServing();
});

test('methods and request lines the server does not take', async () => {
  for (const m of ['DELETE', 'PUT', 'PATCH']) assert.equal((await call(port(), m, '/api/netflow', { token: TOKEN })).status, 405, m);
  assert.equal((await call(port(), 'GET', '/api/login')).status, 405);
  assert.equal((await raw('GARBAGE\r\n\r\n')).status, 400);
  assert.equal((await raw('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')).status, 400, 'request smuggling shape');
  assert.equal((await raw('GET /\u0000 HTTP/1.1\r\nHost: x\r\n\r\n')).status, 400);
  await stillServing();
});

const TRAVERSALS = [
  '/../secret.txt', '/%2e%2e/secret.txt', '/%2E%2E/secret.txt', '/..%2fsecret.txt', '/..%2Fsecret.txt', '/%2e%2e%2fsecret.txt',
  '/%252e%252e/secret.txt', '/..%5csecret.txt', '/%5c..%5csecret.txt', '/..\\secret.txt', '/.%2e/secret.txt', '/%c0%ae%c0%ae/secret.txt',
  '/....//secret.txt', '/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '//etc/passwd', '/%2fetc%2fpasswd', '/%2F%2Fetc/passwd',
  `/${encodeURIComponent(join(dirs.root.path, 'secret.txt'))}`, `/${join(dirs.root.path, 'secret.txt')}`,
  '/%00', '/index.html%00.txt', '/secret.txt%00', '/%00/../secret.txt',
  '/linked-dir/secret.txt', '/linked-file.txt', '/relative-link.txt', '/passwd.txt', '/linked-dir/', '/linked-dir',
  '/_next/static/../../../secret.txt', '/_next/static/%2e%2e/%2e%2e/%2e%2e/secret.txt',
];

test('path traversal on the UI files: nothing outside the UI folder, by any spelling or symlink', async () => {
  for (const p of TRAVERSALS) {
    const r = await call(port(), 'GET', p);
    assert.ok([400, 404].includes(r.status), `${p}: ${r.status}`);
    assert.doesNotMatch(r.text, new RegExp(`${SECRET}|root:x:0`), p);
  }
  // The raw request target, without the client library tidying it up.
  for (const target of ['../secret.txt', '/../../secret.txt', '/./../secret.txt', 'http://x/../secret.txt', '/%2e%2e/%2e%2e/secret.txt', '*', '/linked-dir/../../secret.txt']) {
    const r = await raw(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.ok([400, 404].includes(r.status), `${target}: ${r.status}`);
    assert.doesNotMatch(r.text, new RegExp(`${SECRET}|root:x:0`), target);
  }
  // What is inside is still served, a symlink to a file inside included.
  assert.equal((await call(port(), 'GET', '/')).text, '<html>ui</html>');
  assert.equal((await call(port(), 'GET', '/inside-link.html')).text, '<html>ui</html>');
  assert.equal((await call(port(), 'GET', '/_next/static/app.js')).text, 'console.log(1)');
});

test('slowloris: headers a byte at a time are cut off at the header deadline, and others are served meanwhile', async () => {
  const slow = Array.from({ length: 20 }, () => trickle('GET / HTTP/1.1\r\nHost: x\r\n', 'X-a: b\r\n', 300, HEADERS_TIMEOUT_MS * 4));
  // Meanwhile: queries and pages answer at once.
  for (let i = 0; i < 5; i++) {
    const started = Date.now();
    await stillServing();
    assert.ok(Date.now() - started < 5000, `answered in ${Date.now() - started} ms while slow clients hold connections`);
    await new Promise((r) => setTimeout(r, 200));
  }
  assertCutOff(await Promise.all(slow), HEADERS_TIMEOUT_MS, 'the slow connection');
  await stillServing();
});

test('slow bodies: a login body a byte at a time is cut off at the request deadline', async () => {
  const head = `POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`;
  const slow = Array.from({ length: 10 }, () => trickle(head, ' ', 300, REQUEST_TIMEOUT_MS * 3));
  await stillServing();
  assertCutOff(await Promise.all(slow), REQUEST_TIMEOUT_MS, 'the slow body');
  await stillServing();
});

/** Every slow client was closed by the server within `deadlineMs` (and 3 s of slack), with a 408 or nothing. */
function assertCutOff(results: { closed: boolean; ms: number; status: number }[], deadlineMs: number, what: string): void {
  for (const r of results) {
    assert.ok(r.closed, `the server closed ${what}`);
    assert.ok(r.ms < deadlineMs + 3000, `closed after ${r.ms} ms`);
    assert.ok(r.status === 408 || r.status === 0, `status ${r.status}`);
  }
}

test('idle connections that never send a byte are closed, and do not keep others out', async () => {
  const idle = Array.from({ length: 300 }, () => raw('', HEADERS_TIMEOUT_MS * 4));
  await stillServing();
  for (const r of await Promise.all(idle)) {
    assert.ok(r.closed && r.ms < HEADERS_TIMEOUT_MS + 3000, `idle connection closed after ${r.ms} ms (closed: ${r.closed})`);
  }
  await stillServing();
});

test(`more queries at once than the core takes: the excess gets 503 with the reason, the rest their answers`, async () => {
  const want = (await call(port(), 'GET', QUERY, { token: TOKEN })).json().results;
  const n = 80;
  const replies = await Promise.all(Array.from({ length: n }, (_, i) =>
    call(port(), 'GET', i % 2 ? QUERY : `/api/netflow/historical?time_range=last_24h&group_by=src_ip,dst_ip,src_port&limit=1000`, { token: TOKEN })));
  const busy = replies.filter((r) => r.status === 503);
  const ok = replies.filter((r) => r.status === 200);
  assert.equal(busy.length + ok.length, n, replies.map((r) => r.status).join(','));
  assert.ok(busy.length > 0, 'some were refused');
  assert.ok(ok.length >= MAX_CONCURRENT, 'the rest were answered');
  for (const r of busy) {
    assert.match(r.json().error, /too many queries at once/);
    assert.equal(r.headers['retry-after'], '1');
  }
  for (const r of ok) if (r.json().meta.group_by.length === 1) assert.deepEqual(r.json().results, want);
  // Pages, the session and the metrics are not queries: never refused for this.
  assert.equal((await call(port(), 'GET', '/')).status, 200);
  await stillServing();
});
