// Secrets never reach the logs. Every service runs as its own process at debug
// level against real peers: clickhouse-server with a password-protected user,
// the Iceberg REST catalog given a bearer token, a nats-server that wants a
// password the services do not have (they authenticate to NATS by mTLS only;
// a URL's user:password is not used, but must not be shown either), and the
// core-extension with users and API tokens. Each goes through a login, a bad
// login, token use, a config error and a connection failure; every byte any of
// them writes to stdout or stderr is searched for every password, token and
// session id used.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startClickHouseServer, type ClickHouseServer } from '../helpers/clickhouse-server.js';
import { startRestCatalog, type RestCatalogServer } from '../helpers/iceberg-peers.js';
import { freePort, spawnPeer, tempDir, waitFor, type Peer } from '../helpers/process.js';
import { hashPassword } from '../../core-extension/api/auth.js';

const S = {
  natsPass: 'nats-pass-S3CRET-7f3a',
  natsWrong: 'nats-wrong-S3CRET-11b',
  chWrong: 'ch-wrong-S3CRET-22c',
  iceToken: 'iceberg-token-S3CRET-33d',
  userPass: 'user-pass-S3CRET-44e',
  userWrong: 'user-wrong-S3CRET-55f',
  apiToken: 'api-token-S3CRET-66a-0123456789abcdef0123456789',
  apiWrong: 'api-token-wrong-S3CRET-77b-0123456789abcdef',
  inUrl: 'url-pass-S3CRET-88c',
};
const secrets = (): string[] => [...Object.values(S), ch.password, ...sessions];
const sessions: string[] = [];

const work = tempDir('secrets');
let nats: { port: number; monitor: number; peer: Peer };
let natsAuth: { port: number; monitor: number; peer: Peer };
let ch: ClickHouseServer;
let rest: RestCatalogServer;
const runs: { name: string; out: () => string }[] = [];

interface Run { proc: ChildProcess; out(): string; exited: Promise<number | null>; stop(): Promise<void> }

/** A service process at debug level; all of its output is kept (not just the tail). */
function service(name: string, command: string, config: unknown): Run {
  const path = join(work.path, `${name}.json`);
  writeFileSync(path, JSON.stringify(config, null, 2));
  const proc = spawn(process.execPath, ['dist/cli.js', command, '--config', path], { env: { ...process.env, LOG_LEVEL: 'debug' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  runs.push({ name, out: () => out });
  return {
    proc, out: () => out, exited,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) { proc.kill('SIGTERM'); setTimeout(() => proc.kill('SIGKILL'), 10_000).unref(); }
      await exited;
    },
  };
}

/** Waits for `check`; on timeout the error carries the run's log, to see what it did instead. */
async function until(run: Run, what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  await waitFor(what, check, timeoutMs, 300).catch((err: Error) => { throw new Error(`${err.message}\n${run.out().slice(-3000)}`); });
}

/** The open broker, named with a password in its URL (which must be masked wherever the URL is shown). */
const natsUrl = () => `nats://netflow:${S.natsPass}@127.0.0.1:${nats.port}`;
/** The broker that refuses the services' login. */
const refusingNats = () => `nats://netflow:${S.natsPass}@127.0.0.1:${natsAuth.port}`;

function assertClean(name: string, out: string): void {
  for (const s of secrets()) assert.ok(!out.includes(s), `${name} logged a secret (${s.slice(0, 12)}...):\n${out.split('\n').filter((l) => l.includes(s)).slice(0, 3).join('\n')}`);
}

before(async () => {
  const natsServer = async (name: string, auth: string[]) => {
    const [port, monitor] = [await freePort(), await freePort()];
    const peer = spawnPeer('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitor), '-js', '-sd', join(work.path, name), ...auth]);
    await waitFor(name, () => peer.output().includes('Server is ready'));
    return { port, monitor, peer };
  };
  nats = await natsServer('nats', []);
  natsAuth = await natsServer('nats-auth', ['--user', 'netflow', '--pass', S.natsWrong]);
  ch = await startClickHouseServer();
  rest = await startRestCatalog();
});

after(async () => {
  await rest?.stop();
  await ch?.destroy();
  await nats?.peer.kill();
  await natsAuth?.peer.kill();
  work.remove();
});

describe('no password, token or session id in any log', { timeout: 600_000 }, () => {
  it('checker: NATS login, bad login, config error', async () => {
    const [udp, grpcPort] = [await freePort(), await freePort()];
    const base = { listen_addr: `127.0.0.1:${udp}`, grpc_listen_addr: `127.0.0.1:${grpcPort}`, metrics_listen_addr: '' };
    const good = service('checker', 'checker', { ...base, nats_url: natsUrl() });
    await until(good, 'the checker to be connected to NATS', async () => {
      const st = await fetch(`http://127.0.0.1:${nats.monitor}/connz`).then((r) => r.json() as Promise<{ connections?: { name?: string }[] }>).catch(() => undefined);
      return st?.connections?.some((c) => c.name?.startsWith('serviceradar-netflow-checker')) ?? false;
    }, 30_000);
    await good.stop();
    const bad = service('checker-bad-login', 'checker', { ...base, nats_url: refusingNats() });
    await until(bad, 'the checker to report the refused login', () => /Authorization Violation/.test(bad.out()), 30_000);
    await bad.stop();
    const broken = service('checker-config-error', 'checker', { ...base, nats_url: `nats://netflow:${S.inUrl}@127.0.0.1:99999` });
    assert.notEqual(await broken.exited, 0);
    assert.match(broken.out(), /nats_url/);
    for (const r of [good, bad, broken]) assertClean('checker', r.out());
  });

  it('clickhouse-writer: ClickHouse login, bad password, credentials in the URL', async () => {
    const base = { nats_url: natsUrl(), clickhouse_url: ch.url, clickhouse_user: ch.user, metrics_listen_addr: '', batch_wait: '200ms' };
    const good = service('clickhouse-writer', 'clickhouse-writer', { ...base, clickhouse_password: ch.password });
    await until(good, 'the writer to migrate the schema', async () => {
      const res = await fetch(`${ch.url}/?query=${encodeURIComponent("SELECT count() FROM system.tables WHERE database = 'netflow'")}`);
      return res.ok && Number((await res.text()).trim()) > 0;
    });
    await good.stop();
    const bad = service('clickhouse-writer-bad-password', 'clickhouse-writer', { ...base, clickhouse_password: S.chWrong });
    await until(bad, 'the writer to report the refused login', () => /authenticat|password|Code: 19[0-9]|refused|failed/i.test(bad.out()));
    await bad.stop();
    const broken = service('clickhouse-writer-config-error', 'clickhouse-writer', { ...base, clickhouse_url: `http://writer:${S.inUrl}@127.0.0.1:${new URL(ch.url).port}` });
    assert.notEqual(await broken.exited, 0);
    assert.match(broken.out(), /clickhouse_url/);
    const down = service('clickhouse-writer-unreachable', 'clickhouse-writer', { ...base, clickhouse_password: ch.password, clickhouse_url: `http://127.0.0.1:${await freePort()}` });
    await until(down, 'the writer to report the unreachable server', () => /ECONNREFUSED|unreachable|refused|failed/i.test(down.out()));
    await down.stop();
    for (const r of [good, bad, broken, down]) assertClean('clickhouse-writer', r.out());
  });

  it('parquet-writer: REST catalog with a token, catalog down, credentials in the catalog URL', async () => {
    const base = { nats_url: natsUrl(), output_path: join(work.path, 'ice'), batch_interval: '1s', metrics_listen_addr: '', iceberg_token: S.iceToken };
    const good = service('parquet-writer', 'parquet-writer', { ...base, iceberg_catalog: rest.uri, iceberg_warehouse: rest.warehouse });
    await until(good, 'the writer to make its table in the REST catalog', async () => {
      const res = await fetch(`${rest.uri}/v1/namespaces/default/tables`);
      return res.ok && ((await res.json()) as { identifiers?: unknown[] }).identifiers?.length === 1;
    }, 90_000);
    await good.stop();
    const down = service('parquet-writer-catalog-down', 'parquet-writer', { ...base, iceberg_catalog: `http://127.0.0.1:${await freePort()}` });
    await until(down, 'the writer to report the unreachable catalog', () => /ECONNREFUSED|fetch failed|unreachable|refused|failed/i.test(down.out()));
    await down.stop();
    const inUrl = service('parquet-writer-url-credentials', 'parquet-writer', { ...base, iceberg_catalog: `http://user:${S.inUrl}@127.0.0.1:${new URL(rest.uri).port}` });
    await Promise.race([inUrl.exited, new Promise((r) => setTimeout(r, 8000))]);
    await inUrl.stop();
    const broken = service('parquet-writer-config-error', 'parquet-writer', { ...base, iceberg_catalog: `ftp://user:${S.inUrl}@127.0.0.1/` });
    assert.notEqual(await broken.exited, 0);
    assert.match(broken.out(), /iceberg_catalog/);
    for (const r of [good, down, inUrl, broken]) assertClean('parquet-writer', r.out());
  });

  it('core: login, bad login, token, bad token, session use, ClickHouse bad password, config error', async () => {
    const [httpPort, grpcPort] = [await freePort(), await freePort()];
    const cfg = async (password: string) => ({
      netflow: { clickhouse_url: ch.url, clickhouse_user: ch.user, clickhouse_password: password, iceberg_catalog: rest.uri, iceberg_warehouse: rest.warehouse, iceberg_token: S.iceToken, nats_url: natsUrl() },
      http: { listen_addr: `127.0.0.1:${httpPort}` },
      grpc: { listen_addr: `127.0.0.1:${grpcPort}` },
      users: [{ username: 'analyst', password_hash: await hashPassword(S.userPass) }],
      api_tokens: [{ name: 'machine', token_hash: `sha256$${createHash('sha256').update(S.apiToken).digest('hex')}` }],
    });
    const base = `http://127.0.0.1:${httpPort}`;
    const core = service('core', 'core', await cfg(ch.password));
    await until(core, 'the core to listen', async () => (await fetch(`${base}/api/session`).catch(() => undefined))?.status === 401);
    const login = (password: string) => fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'analyst', password }) });
    const ok = await login(S.userPass);
    assert.equal(ok.status, 200);
    const cookie = ok.headers.get('set-cookie')!.split(';')[0]!;
    sessions.push(cookie.split('=')[1]!);
    assert.equal((await login(S.userWrong)).status, 401);
    assert.equal((await fetch(`${base}/api/session`, { headers: { cookie } })).status, 200);
    const q = (auth: Record<string, string>) => fetch(`${base}/api/netflow?time_range=last_1h&group_by=src_ip`, { headers: auth });
    assert.equal((await q({ cookie })).status, 200);
    assert.equal((await q({ authorization: `Bearer ${S.apiToken}` })).status, 200);
    assert.equal((await q({ authorization: `Bearer ${S.apiWrong}` })).status, 401);
    assert.equal((await q({ cookie: `srnf_session=${S.apiWrong}` })).status, 401);
    assert.equal((await fetch(`${base}/api/logout`, { method: 'POST', headers: { cookie } })).status, 204);
    await core.stop();
    // The hot tier refuses the core's password: queries fail with a reason, the log says why.
    const badCh = service('core-clickhouse-bad-password', 'core', await cfg(S.chWrong));
    await Promise.race([badCh.exited, waitFor('the core to listen or give up', async () => (await fetch(`${base}/api/session`).catch(() => undefined))?.status === 401, 60_000, 300)]).catch(() => undefined);
    if (badCh.proc.exitCode === null) await q({ authorization: `Bearer ${S.apiToken}` });
    await badCh.stop();
    const broken = service('core-config-error', 'core', { ...(await cfg(ch.password)), users: [{ username: 'analyst', password: S.inUrl }] });
    assert.notEqual(await broken.exited, 0);
    assert.match(broken.out(), /users/);
    for (const r of [core, badCh, broken]) assertClean('core', r.out());
  });

  it('every run above wrote logs (so the search had something to search)', () => {
    for (const r of runs) assert.ok(r.out().length > 0, `${r.name} wrote nothing`);
  });
});
