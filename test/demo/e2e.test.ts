// The main job end to end, run exactly as a user runs it (`serviceradar-netflow
// demo`): real traffic captured on lo, exported by softflowd as NetFlow v9 into
// the checker, through NATS to both writers, and read back from /api/netflow
// for the hot tier and the cold tier; then the bundled router captures
// replayed. Every expected total comes from tshark, not from our code.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, spawnPeer, tempDir, waitFor, type Peer } from '../helpers/process.js';
import { makeTraffic, runSoftflowd, startCapture, trafficPorts, captureFilter, tsharkTotals } from '../checker/traffic.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const CAPTURES = join(ROOT, '..', 'shared', 'testdata', 'netflow');

interface Demo { peer: Peer; udpPort: number; api(path: string): Promise<{ status: number; body: any }>; stop(): Promise<void> }

async function startDemo(dir: string, traffic: 'none' | 'replay'): Promise<Demo> {
  const [udpPort, httpPort, grpcPort, checkerGrpcPort, natsPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const peer = spawnPeer('node', [CLI, 'demo', '--data', dir, '--traffic', traffic, '--no-backfill', '--cold-interval', '2s',
    '--udp-port', String(udpPort), '--http-port', String(httpPort), '--grpc-port', String(grpcPort),
    '--checker-grpc-port', String(checkerGrpcPort), '--nats-port', String(natsPort)]);
  await waitFor('the demo to print its dashboard URL', () => {
    if (peer.proc.exitCode !== null) throw new Error(`demo exited: ${peer.output()}`);
    return peer.output().includes('Dashboard:');
  }, 120_000);
  const { username, password } = JSON.parse(readFileSync(join(dir, 'demo-login.json'), 'utf8'));
  assert.ok(peer.output().includes(`Login:      ${username} / ${password}`), 'the demo prints its login');
  const base = `http://127.0.0.1:${httpPort}`;
  const login = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  assert.equal(login.status, 200);
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  return {
    peer, udpPort,
    async api(path) {
      const r = await fetch(`${base}${path}`, { headers: { cookie } });
      return { status: r.status, body: await r.json() };
    },
    async stop() { await peer.kill('SIGINT'); },
  };
}

/** Polls a totals query until it reports `want` (the writers batch), then returns its body. */
async function totalsReach(demo: Demo, path: string, want: { bytes: number; packets: number }): Promise<any> {
  let last: any;
  await waitFor(`${path} to report ${JSON.stringify(want)}`, async () => {
    const r = await demo.api(path);
    if (r.status !== 200) throw new Error(`${r.status} ${JSON.stringify(r.body)}`);
    last = r.body;
    const row = r.body.results[0] ?? { bytes: 0, packets: 0 };
    return row.bytes >= want.bytes && row.packets >= want.packets;
  }, 90_000, 1000).catch((err) => { throw new Error(`${(err as Error).message}; last answer ${JSON.stringify(last)}`); });
  return last;
}

const dirs: Array<{ remove(): void }> = [];
after(() => { for (const d of dirs) d.remove(); });

test('live traffic exported by softflowd reaches both tiers with the bytes and packets tshark counts', async () => {
  const dir = tempDir('e2e-live');
  dirs.push(dir);
  const ports = await trafficPorts();
  const pcap = join(dir.path, 'traffic.pcap');
  const capture = await startCapture(pcap, captureFilter(ports));
  const started = Date.now() - 1000;
  await makeTraffic(ports, 2);
  await new Promise((r) => setTimeout(r, 500));
  await capture.kill('SIGINT');
  const reference = tsharkTotals(pcap);
  assert.ok(reference.packets > 100, `the capture holds traffic (${reference.packets} packets)`);

  const demo = await startDemo(join(dir.path, 'data'), 'none');
  try {
    const exported = await runSoftflowd(pcap, demo.udpPort, 9, dir.path);
    assert.equal(exported.failures, 0);
    const range = `start=${started - 60_000}&end=${Date.now() + 60_000}`;
    const want = { bytes: reference.bytes, packets: reference.packets };

    const hot = await totalsReach(demo, `/api/netflow/realtime?${range}&metric=bytes`, want);
    assert.equal(hot.meta.backend, 'clickhouse');
    assert.equal(hot.results[0].bytes, reference.bytes, 'hot tier bytes = tshark');
    assert.equal(hot.results[0].packets, reference.packets, 'hot tier packets = tshark');
    assert.equal(hot.results[0].flows, exported.records, 'hot tier flows = the records softflowd exported');

    const cold = await totalsReach(demo, `/api/netflow/historical?${range}&metric=bytes`, want);
    assert.equal(cold.meta.backend, 'iceberg');
    assert.equal(cold.results[0].bytes, reference.bytes, 'cold tier bytes = tshark');
    assert.equal(cold.results[0].packets, reference.packets, 'cold tier packets = tshark');
    assert.equal(cold.results[0].flows, exported.records, 'cold tier flows = the records softflowd exported');

    // The unified route for a recent range answers from the hot tier, per source address too.
    const bySrc = await demo.api(`/api/netflow?${range}&group_by=src_ip&limit=1000`);
    assert.equal(bySrc.status, 200);
    const perSrc = new Map<string, number>();
    for (const [key, f] of reference.byFlow) perSrc.set(key.split('|')[0]!, (perSrc.get(key.split('|')[0]!) ?? 0) + f.bytes);
    assert.deepEqual(new Map(bySrc.body.results.map((r: any) => [r.src_ip, r.bytes])), perSrc);
  } finally {
    await demo.stop();
  }
});

/** Sum of every exported record's octets and packets, by Wireshark's NetFlow dissector. */
function tsharkExportTotals(pcap: string): { bytes: number; packets: number; records: number } {
  const r = spawnSync('tshark', ['-r', pcap, '-d', 'udp.port==9991,cflow', '-T', 'fields', '-e', 'cflow.octets', '-e', 'cflow.packets'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  let bytes = 0, packets = 0, records = 0;
  for (const line of r.stdout.split('\n')) {
    const [octets, pkts] = line.split('\t');
    if (!octets) continue;
    for (const v of octets.split(',')) { bytes += Number(v); records++; }
    for (const v of (pkts ?? '').split(',')) packets += Number(v || 0);
  }
  return { bytes, packets, records };
}

test('the bundled router captures, replayed at now, total what tshark decodes from them', async () => {
  const dir = tempDir('e2e-replay');
  dirs.push(dir);
  const refs = ['nfv9-cisco-asr9k-one-source', 'nfv9-cisco-asr9k-two-source-ids'].map((d) => tsharkExportTotals(join(CAPTURES, d, 'traffic.pcap')));
  const want = { bytes: refs[0]!.bytes + refs[1]!.bytes, packets: refs[0]!.packets + refs[1]!.packets };
  const records = refs[0]!.records + refs[1]!.records;
  assert.ok(records > 50, `tshark decodes the captures (${records} records)`);

  const demo = await startDemo(join(dir.path, 'data'), 'replay');
  try {
    const hot = await totalsReach(demo, '/api/netflow/realtime?time_range=last_24h', want);
    assert.deepEqual([hot.results[0].bytes, hot.results[0].packets, hot.results[0].flows], [want.bytes, want.packets, records]);
    const cold = await totalsReach(demo, '/api/netflow/historical?time_range=last_24h', want);
    assert.deepEqual([cold.results[0].bytes, cold.results[0].packets, cold.results[0].flows], [want.bytes, want.packets, records]);
    // Two routers (one per capture), as the replay sends each from its own address.
    const byExporter = await demo.api('/api/netflow?time_range=last_24h&group_by=exporter');
    assert.deepEqual(byExporter.body.results.map((r: any) => r.exporter).sort(), ['127.0.0.2', '127.0.0.3']);
  } finally {
    await demo.stop();
  }
});
