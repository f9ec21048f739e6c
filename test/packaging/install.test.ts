// The packages installed the way a user installs them: dpkg -i on a clean
// Debian 12 booted with systemd (see container.ts), certificates from
// scripts/gen-certs.sh, the units started by systemd itself, NetFlow sent
// in, both tiers queried through the API, the agent's and the poller's
// checks over mTLS, then remove (configs stay) and purge (configs go).
// The peers run on the host: nats-server with TLS and client verification,
// and a ClickHouse server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { cpSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { buildPackages, NAMES, REPO } from './build.js';
import { bootContainer, type Container } from './container.js';
import { v5Datagram, type V5Flow } from './netflow-v5.js';
import { parseUnit } from './units.js';
import { agentCheck, agentClient, healthCheck } from '../checker/agent-client.js';
import { startClickHouseServer, type ClickHouseServer } from '../helpers/clickhouse-server.js';
import { freePort, tempDir, waitFor } from '../helpers/process.js';
import { genCerts, type Certs } from '../tls/pki.js';
import { startTlsNats, type TlsNats } from '../tls/nats-tls.js';

const UNITS = {
  checker: 'serviceradar-netflow-checker.service',
  clickhouse: 'serviceradar-netflow-clickhouse-writer.service',
  parquet: 'serviceradar-netflow-parquet-writer.service',
  core: 'serviceradar-netflow-core.service',
};
const USERS = { checker: 'serviceradar-netflow-checker', consumers: 'serviceradar-netflow-consumers', core: 'serviceradar-netflow-core' };
const CONFIGS = {
  checker: '/etc/serviceradar/checkers/netflow.json',
  clickhouse: '/etc/serviceradar/netflow-clickhouse.json',
  parquet: '/etc/serviceradar/netflow-parquet.json',
  core: '/etc/serviceradar/netflow-core.json',
};

// Three flows from two hosts; the API must return exactly these sums.
const FLOWS: V5Flow[] = [
  { src: '192.0.2.10', dst: '198.51.100.1', srcPort: 40001, dstPort: 443, protocol: 6, packets: 10, bytes: 12_000 },
  { src: '192.0.2.10', dst: '198.51.100.2', srcPort: 40002, dstPort: 53, protocol: 17, packets: 1, bytes: 80 },
  { src: '192.0.2.20', dst: '198.51.100.1', srcPort: 40003, dstPort: 443, protocol: 6, packets: 4, bytes: 3_100 },
];
const BY_SRC = new Map([['192.0.2.10', 12_080], ['192.0.2.20', 3_100]]);

/** A UDP port below 1024 that nothing on loopback uses: the checker must bind it through its one capability. */
async function freeLowUdpPort(): Promise<number> {
  for (let port = 900 + (process.pid % 90); port < 1024; port++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free UDP port below 1024');
}

let box: Container;
let nats: TlsNats;
let ch: ClickHouseServer;
let certs: Certs;
let rogue: Certs;
const rogueDir = tempDir('rogue-pki');
const ports = { udp: 0, checkerGrpc: 0, coreGrpc: 0, http: 0, metrics: [0, 0, 0] };
let token = '';

const inside = (p: string) => join(box.root, p);
const readJson = (p: string) => JSON.parse(readFileSync(inside(p), 'utf8')) as Record<string, any>;
// Written in place: the file keeps the owner and mode the package gave it.
const writeJson = (p: string, v: unknown) => writeFileSync(inside(p), JSON.stringify(v, null, 2) + '\n');

function tlsCreds(c: Certs, who: string): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(c.read('root.pem'), c.read(`${who}-key.pem`), c.read(`${who}.pem`));
}

async function api(path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${ports.http}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json().catch(() => null) };
}

function bySrc(rows: Array<{ src_ip: string; bytes: number }>): Map<string, number> {
  return new Map(rows.map((r) => [r.src_ip, Number(r.bytes)]));
}

function mainPid(unit: string): number {
  return Number(box.sh(`systemctl show -p MainPID --value ${unit}`).trim());
}

describe('install on a clean Debian 12 with systemd', { timeout: 3_600_000 }, () => {
  before(async () => {
    const pkgs = buildPackages();
    box = await bootContainer();
    for (const n of NAMES) cpSync(pkgs.deb(n), inside(`/var/tmp/${n}.deb`));
    cpSync(join(REPO, 'scripts/gen-certs.sh'), inside('/var/tmp/gen-certs.sh'));
    ch = await startClickHouseServer();
    ports.udp = await freeLowUdpPort();
    for (const k of ['checkerGrpc', 'coreGrpc', 'http'] as const) ports[k] = await freePort();
    ports.metrics = [await freePort(), await freePort(), await freePort()];
  });

  after(async () => {
    await box?.destroy();
    await nats?.stop();
    await ch?.destroy();
    rogueDir.remove();
  });

  it('dpkg installs the three packages: users, folders, enabled units that are not started', () => {
    box.sh(`dpkg -i ${NAMES.map((n) => `/var/tmp/${n}.deb`).join(' ')}`, { timeoutMs: 1_200_000 });
    for (const n of NAMES) assert.match(box.sh(`dpkg-query -W -f='\${Status}' ${n}`), /install ok installed/);
    for (const user of Object.values(USERS)) {
      const entry = box.sh(`getent passwd ${user}`).trim().split(':');
      assert.ok(Number(entry[2]) < 1000, `${user} is a system user`);
      assert.equal(entry[6], '/usr/sbin/nologin');
      assert.match(box.sh(`id -nG ${user}`), /\bserviceradar-netflow\b/);
    }
    for (const unit of Object.values(UNITS)) {
      assert.equal(box.exec(['systemctl', 'is-enabled', unit]).stdout.trim(), 'enabled', unit);
      assert.equal(box.exec(['systemctl', 'is-active', unit]).stdout.trim(), 'inactive', `${unit} is not started by the installation`);
    }
    const stat = (p: string) => box.sh(`stat -c '%a %U %G' ${p}`).trim();
    assert.equal(stat('/var/lib/serviceradar-netflow/iceberg'), `2750 ${USERS.consumers} serviceradar-netflow`);
    assert.equal(stat('/var/lib/serviceradar-netflow/iceberg-rollups'), `2750 ${USERS.consumers} serviceradar-netflow`);
    assert.equal(stat('/var/lib/serviceradar-netflow/parquet-writer'), `750 ${USERS.consumers} ${USERS.consumers}`);
    assert.equal(stat('/var/lib/serviceradar-netflow/core'), `750 ${USERS.core} ${USERS.core}`);
    assert.equal(stat(CONFIGS.checker), `640 root ${USERS.checker}`);
    assert.equal(stat(CONFIGS.core), `640 root ${USERS.core}`);
    // The packaged configuration is the PRD's (7.1), in mtls mode.
    const checker = readJson(CONFIGS.checker);
    assert.equal(checker.listen_addr, ':2055');
    assert.deepEqual(checker.security.tls, { cert_file: 'netflow.pem', key_file: 'netflow-key.pem', ca_file: 'root.pem' });
    assert.equal(checker.security.mode, 'mtls');
  });

  it('systemd-analyze verify accepts every unit as installed', () => {
    const r = box.exec(['systemd-analyze', 'verify', ...Object.values(UNITS).map((u) => `/lib/systemd/system/${u}`)]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal((r.stdout + r.stderr).trim(), '', 'no warnings');
  });

  it('gen-certs.sh makes the certificates in /etc/serviceradar/certs, keys readable by their service only', async () => {
    box.sh('bash /var/tmp/gen-certs.sh /etc/serviceradar/certs');
    certs = { dir: inside('/etc/serviceradar/certs'), file: (n) => inside(`/etc/serviceradar/certs/${n}`), read: (n) => readFileSync(inside(`/etc/serviceradar/certs/${n}`)) };
    const stat = (f: string) => box.sh(`stat -c '%a %U %G' /etc/serviceradar/certs/${f}`).trim();
    assert.equal(stat('netflow-key.pem'), `640 root ${USERS.checker}`);
    assert.equal(stat('netflow-parquet-key.pem'), `640 root ${USERS.consumers}`);
    assert.equal(stat('core-key.pem'), `640 root ${USERS.core}`);
    assert.equal(stat('nats-server-key.pem'), '600 root root');
    assert.equal(stat('ca-private/root-key.pem'), '600 root root');
    // The verification is openssl's, not ours.
    for (const c of ['netflow', 'netflow-clickhouse', 'netflow-parquet', 'core', 'agent', 'poller', 'nats-server']) {
      assert.match(box.sh(`openssl verify -CAfile /etc/serviceradar/certs/root.pem /etc/serviceradar/certs/${c}.pem`), /: OK/);
    }
    rogue = genCerts(rogueDir.path);
    // NATS on the host with the generated tls block, its paths seen from the host.
    const block = readFileSync(certs.file('nats-server-tls.conf'), 'utf8').replaceAll('"/etc/serviceradar/certs/', `"${certs.dir}/`);
    assert.match(block, /verify: true/);
    nats = await startTlsNats(block);
  });

  it('systemd starts every unit with the shipped configs pointed at this host\'s peers', async () => {
    // As the README says: the installed command makes the token and its config entry.
    const made = JSON.parse(box.sh('serviceradar-netflow-core core hash --token')) as { token: string; api_tokens_entry: { name: string; token_hash: string } };
    token = made.token;

    const c = readJson(CONFIGS.checker);
    Object.assign(c, { listen_addr: `127.0.0.1:${ports.udp}`, nats_url: nats.url, grpc_listen_addr: `127.0.0.1:${ports.checkerGrpc}`, metrics_listen_addr: `127.0.0.1:${ports.metrics[0]}`, batch_linger_ms: '100ms' });
    writeJson(CONFIGS.checker, c);
    const w = readJson(CONFIGS.clickhouse);
    Object.assign(w, { nats_url: nats.url, clickhouse_url: ch.url, metrics_listen_addr: `127.0.0.1:${ports.metrics[1]}`, batch_wait: '200ms' });
    writeJson(CONFIGS.clickhouse, w);
    const p = readJson(CONFIGS.parquet);
    Object.assign(p, { nats_url: nats.url, metrics_listen_addr: `127.0.0.1:${ports.metrics[2]}`, batch_interval: '2s' });
    writeJson(CONFIGS.parquet, p);
    const core = readJson(CONFIGS.core);
    core.netflow = { ...core.netflow, clickhouse_url: ch.url, nats_url: nats.url };
    core.http = { ...core.http, listen_addr: `127.0.0.1:${ports.http}` };
    core.grpc = { ...core.grpc, listen_addr: `127.0.0.1:${ports.coreGrpc}` };
    core.api_tokens = [{ ...made.api_tokens_entry, name: 'install-test' }];
    writeJson(CONFIGS.core, core);

    box.sh(`systemctl start ${Object.values(UNITS).join(' ')}`);
    for (const unit of Object.values(UNITS)) {
      await waitFor(`${unit} to stay active`, async () => {
        const state = box.exec(['systemctl', 'is-active', unit]).stdout.trim();
        if (state === 'failed') throw new Error(`${unit} failed:\n${box.journal(unit)}`);
        return state === 'active';
      }, 60_000, 500);
    }
    await waitFor('the checker gRPC and core HTTP ports', async () => {
      const res = await fetch(`http://127.0.0.1:${ports.http}/api/netflow/status`, { headers: { authorization: `Bearer ${token}` } }).catch(() => undefined);
      return res?.status === 200;
    }, 90_000, 500).catch((err) => { throw new Error(`${(err as Error).message}\n${box.journal(UNITS.core)}`); });
    // Still up, never restarted: a service that bound nothing or died after start fails here.
    await new Promise((r) => setTimeout(r, 3000));
    for (const unit of Object.values(UNITS)) {
      const state = ['ActiveState', 'SubState', 'NRestarts'].map((p) => box.sh(`systemctl show -p ${p} --value ${unit}`).trim()).join(' ');
      assert.equal(state, 'active running 0', `${unit}\n${box.journal(unit)}`);
    }
  });

  it('each service runs as its user, with only the capabilities, files and system calls its unit allows', () => {
    const expectCaps: Record<string, string> = { [UNITS.checker]: '0000000000000400', [UNITS.clickhouse]: '0000000000000000', [UNITS.parquet]: '0000000000000000', [UNITS.core]: '0000000000000000' };
    const writable: Record<string, string[]> = {
      [UNITS.checker]: [], [UNITS.clickhouse]: ['/var/lib/serviceradar-netflow/clickhouse-writer'],
      [UNITS.parquet]: ['/var/lib/serviceradar-netflow/parquet-writer', '/var/lib/serviceradar-netflow/iceberg', '/var/lib/serviceradar-netflow/iceberg-rollups'], [UNITS.core]: ['/var/lib/serviceradar-netflow/core'],
    };
    for (const [unit, caps] of Object.entries(expectCaps)) {
      const pid = mainPid(unit);
      assert.ok(pid > 0, unit);
      const status = box.sh(`cat /proc/${pid}/status`);
      const line = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim();
      const unitFile = parseUnit(readFileSync(inside(`/lib/systemd/system/${unit}`), 'utf8'));
      const uid = box.sh(`id -u ${unitFile.service.get('User')![0]}`).trim();
      assert.equal(line('Uid')!.split(/\s+/)[0], uid, `${unit} runs as ${unitFile.service.get('User')![0]}`);
      assert.equal(line('CapEff'), caps, `${unit} CapEff`);
      assert.equal(line('CapBnd'), caps, `${unit} CapBnd`);
      assert.equal(line('NoNewPrivs'), '1', `${unit} NoNewPrivs`);
      assert.equal(line('Seccomp'), '2', `${unit} has a system call filter`);
      // In the service's own mount namespace (root there still meets read-only mounts).
      const inNs = (script: string) => box.exec(['nsenter', '-t', String(pid), '-m', '--', 'sh', '-c', script]);
      const ro = inNs('touch /usr/lib/probe-ro');
      assert.notEqual(ro.code, 0, `${unit}: /usr is read-only`);
      assert.match(ro.stderr, /Read-only file system/);
      assert.notEqual(inNs('touch /etc/serviceradar/probe-ro').code, 0, `${unit}: /etc is read-only`);
      assert.notEqual(inNs('touch /var/lib/serviceradar-netflow/probe-ro').code, 0, `${unit}: /var/lib outside its folders is read-only`);
      for (const dir of writable[unit]!) {
        const rw = inNs(`touch ${dir}/probe-rw && rm ${dir}/probe-rw`);
        assert.equal(rw.code, 0, `${unit}: ${dir} is writable: ${rw.stderr}`);
      }
      assert.notEqual(inNs('test -e /root/.bashrc').code, 0, `${unit}: /root is hidden (ProtectHome)`);
      box.sh('touch /tmp/host-tmp-probe');
      assert.notEqual(inNs('test -e /tmp/host-tmp-probe').code, 0, `${unit}: /tmp is private`);
    }
  });

  it('NetFlow sent to the checker reaches both tiers and the API answers with exactly what was sent', async () => {
    const sock = createSocket('udp4');
    await new Promise<void>((resolve, reject) => sock.send(v5Datagram(FLOWS, 1), ports.udp, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
    sock.close();

    let hot: any;
    await waitFor('the flows in the hot tier', async () => {
      hot = await api('/api/netflow/realtime?time_range=last_15m&group_by=src_ip');
      return hot.status === 200 && hot.body.results.length === 2;
    }, 60_000, 500).catch((err) => { throw new Error(`${(err as Error).message}: ${JSON.stringify(hot?.body)}\n${box.journal(UNITS.clickhouse)}`); });
    assert.deepEqual(bySrc(hot.body.results), BY_SRC);

    let cold: any;
    await waitFor('the flows in the cold tier (Iceberg, read by the core through the shared group)', async () => {
      cold = await api('/api/netflow/historical?time_range=last_15m&group_by=src_ip');
      return cold.status === 200 && cold.body.results.length === 2;
    }, 90_000, 1000).catch((err) => { throw new Error(`${(err as Error).message}: ${JSON.stringify(cold?.body)}\n${box.journal(UNITS.parquet)}\n${box.journal(UNITS.core)}`); });
    assert.deepEqual(bySrc(cold.body.results), BY_SRC);
    // The table's files belong to the writer and the shared group, readable by the group only.
    const files = box.sh("find /var/lib/serviceradar-netflow/iceberg -type f -name '*.parquet' -printf '%m %u %g\\n' | sort -u").trim().split('\n');
    assert.deepEqual(files, [`640 ${USERS.consumers} serviceradar-netflow`]);

    const noToken = await fetch(`http://127.0.0.1:${ports.http}/api/netflow?time_range=last_15m`);
    assert.equal(noToken.status, 401);
    // The web UI from /usr/share/serviceradar-netflow-core/ui, byte for byte.
    const page = await fetch(`http://127.0.0.1:${ports.http}/`);
    assert.equal(page.status, 200);
    assert.equal(await page.text(), readFileSync(inside('/usr/share/serviceradar-netflow-core/ui/index.html'), 'utf8'));
  });

  it('the agent checks the checker over mTLS; clients without our certificate are refused', async () => {
    const address = `127.0.0.1:${ports.checkerGrpc}`;
    const agent = agentClient(address, tlsCreds(certs, 'agent'));
    try {
      const view = await agentCheck(agent, 'netflow', 'grpc');
      assert.equal(view.available, true);
      assert.equal(view.details.flows, FLOWS.length);
      assert.equal(view.details.published, FLOWS.length);
      assert.equal((view.details.nats as { state: string }).state, 'connected');
    } finally {
      agent.close();
    }
    for (const [label, creds] of [
      ['no certificate', grpc.credentials.createSsl(certs.read('root.pem'))],
      ['a certificate from another CA', grpc.credentials.createSsl(certs.read('root.pem'), rogue.read('agent-key.pem'), rogue.read('agent.pem'))],
      ['plaintext', grpc.credentials.createInsecure()],
    ] as const) {
      const c = agentClient(address, creds);
      await assert.rejects(healthCheck(c), (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE, label);
      c.close();
    }
  });

  it('the poller checks the core-extension over mTLS; clients without our certificate are refused', async () => {
    const address = `127.0.0.1:${ports.coreGrpc}`;
    const poller = agentClient(address, tlsCreds(certs, 'poller'));
    try {
      await waitFor('the poller check to report the pipeline available', async () => (await agentCheck(poller, 'netflow_metrics', 'netflow')).available, 60_000, 1000);
      const view = await agentCheck(poller, 'netflow_metrics', 'netflow');
      assert.equal(view.serviceType, 'netflow');
      assert.equal(typeof view.details, 'object');
    } finally {
      poller.close();
    }
    const c = agentClient(address, grpc.credentials.createSsl(certs.read('root.pem'), rogue.read('poller-key.pem'), rogue.read('poller.pem')));
    await assert.rejects(healthCheck(c), (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE);
    c.close();
  });

  it('installing again (the upgrade path) keeps the edited configs and restarts the running units', async () => {
    const before = Object.fromEntries(Object.values(UNITS).map((u) => [u, mainPid(u)]));
    box.sh(`DEBIAN_FRONTEND=noninteractive dpkg -i --force-confold ${NAMES.map((n) => `/var/tmp/${n}.deb`).join(' ')}`, { timeoutMs: 1_200_000 });
    for (const unit of Object.values(UNITS)) {
      await waitFor(`${unit} to be running again`, () => box.exec(['systemctl', 'is-active', unit]).stdout.trim() === 'active' && mainPid(unit) > 0, 60_000, 500);
      assert.notEqual(mainPid(unit), before[unit], `${unit} was restarted`);
    }
    assert.equal(readJson(CONFIGS.checker).listen_addr, `127.0.0.1:${ports.udp}`, 'the edited config is kept');
    assert.equal(box.sh(`stat -c '%a %U %G' ${CONFIGS.core}`).trim(), `640 root ${USERS.core}`, 'permissions survive the upgrade');
    await waitFor('the API after the restart', async () => (await api('/api/netflow/realtime?time_range=last_15m&group_by=src_ip').catch(() => ({ status: 0, body: null }))).status === 200, 60_000, 500);
    assert.deepEqual(bySrc((await api('/api/netflow/realtime?time_range=last_15m&group_by=src_ip')).body.results), BY_SRC, 'nothing lost across the restart');
  });

  it('dpkg -r stops the units and removes the programs; configs, data and users stay', () => {
    box.sh(`dpkg -r ${NAMES.join(' ')}`, { timeoutMs: 600_000 });
    for (const unit of Object.values(UNITS)) assert.notEqual(box.exec(['systemctl', 'is-active', unit]).stdout.trim(), 'active', unit);
    assert.equal(box.exec(['pgrep', '-f', 'serviceradar-netflow']).code, 1, 'no process left');
    for (const n of NAMES) {
      assert.match(box.sh(`dpkg-query -W -f='\${Status}' ${n}`), /deinstall ok config-files/);
      assert.ok(!existsSync(inside(`/usr/lib/${n}`)), `/usr/lib/${n} is gone`);
    }
    for (const f of Object.values(CONFIGS)) assert.ok(existsSync(inside(f)), `${f} stays`);
    assert.equal(readJson(CONFIGS.checker).listen_addr, `127.0.0.1:${ports.udp}`, 'the edited config is kept as it was');
    assert.ok(existsSync(inside('/var/lib/serviceradar-netflow/iceberg')), 'data stays on remove');
    for (const user of Object.values(USERS)) box.sh(`getent passwd ${user}`);
  });

  it('dpkg -P removes the configs, the data folders and the permission overrides; the certificates are not ours', () => {
    box.sh(`dpkg -P ${NAMES.join(' ')}`, { timeoutMs: 600_000 });
    for (const n of NAMES) {
      const q = box.exec(['dpkg-query', '-W', '-f=${Status}', n]);
      assert.ok(q.code !== 0 || /not-installed/.test(q.stdout), `${n} is purged: ${q.stdout}`);
    }
    for (const f of Object.values(CONFIGS)) assert.ok(!existsSync(inside(f)), `${f} is gone`);
    assert.ok(!existsSync(inside('/etc/serviceradar/checkers')), 'the checkers folder is gone');
    assert.ok(!existsSync(inside('/var/lib/serviceradar-netflow')), 'the data folders are gone');
    assert.equal(box.sh('dpkg-statoverride --list').split('\n').filter((l) => l.includes('/etc/serviceradar')).length, 0);
    assert.ok(existsSync(inside('/etc/serviceradar/certs/root.pem')), 'certificates the administrator made stay');
    assert.ok(statSync(inside('/etc/serviceradar/certs')).isDirectory());
    for (const unit of Object.values(UNITS)) assert.ok(!existsSync(inside(`/etc/systemd/system/multi-user.target.wants/${unit}`)), `${unit} is no longer enabled`);
  });
});
