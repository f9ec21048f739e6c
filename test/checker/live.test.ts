// Real exporters into the checker, which publishes to a real nats-server:
// the flows, packets and bytes read back from JetStream equal tshark's totals
// of the traffic capture and the exporter's own statistics; the agent's view
// over gRPC, netflow.status and /metrics report the same counters.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from 'nats';
import type { FlowRecord } from '../../common/flow.js';
import { createLogger } from '../../common/log.js';
import { STATUS_SUBJECT, STREAM } from '../../common/stream.js';
import { loadCheckerConfig } from '../../checker/config.js';
import { CheckerService } from '../../checker/service.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { tempDir, waitFor } from '../helpers/process.js';
import { agentCheck, agentClient } from './agent-client.js';
import { readStream } from './stream-reader.js';
import { captureFilter, flowKey, makeTraffic, runSoftflowd, startCapture, startFprobe, trafficPorts, tsharkTotals, type FlowTotals } from './traffic.js';

const log = createLogger('test', process.env.TEST_LOG ?? 'silent');
let nats: NatsServer;
let nc: NatsConnection;
let checker: CheckerService;
const dir = tempDir('live');

before(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
});

after(async () => {
  await nc.close();
  await nats.destroy();
  dir.remove();
});

/** A fresh checker per exporter, so each test starts from zero counters and no template or sequence state. */
async function withChecker(fn: () => Promise<void>): Promise<void> {
  const config = loadCheckerConfig(undefined, {
    overrides: {
      listen_addr: '127.0.0.1:0', grpc_listen_addr: '127.0.0.1:0', metrics_listen_addr: '127.0.0.1:0',
      nats_url: nats.url, collector_id: 'live-test', batch_linger_ms: 50, status_interval_ms: 1000,
    },
  });
  checker = new CheckerService(config, log);
  await checker.start();
  try {
    await waitFor('checker connected to NATS with its stream', () => checker.status().available);
    await fn();
  } finally {
    await checker.stop();
  }
}

/** Waits for the checker to have published `expected` records, then returns what the stream holds (and empties it). */
async function collect(expected: number): Promise<FlowRecord[]> {
  await waitFor(`${expected} records published`, () => {
    const h = checker.health();
    return h.published >= expected && h.queue.depth === 0 && h.queue.in_flight === 0;
  }, 30_000).catch((e) => { throw new Error(`${(e as Error).message}: ${JSON.stringify(checker.health())}`); });
  const contents = await readStream(nc);
  assert.deepEqual([...contents.collectors], ['live-test']);
  await (await nc.jetstreamManager()).streams.purge(STREAM);
  return contents.records;
}

function sums(records: FlowRecord[]) {
  return { flows: records.length, packets: records.reduce((n, r) => n + r.packets, 0), bytes: records.reduce((n, r) => n + r.bytes, 0) };
}

/** Each record against tshark's flow of the same direction 5-tuple. */
function assertPerFlow(records: FlowRecord[], totals: FlowTotals, version: number) {
  const seen = new Set<string>();
  for (const r of records) {
    const key = flowKey(r.src_ip, r.dst_ip, r.src_port, r.dst_port, r.protocol);
    const want = totals.byFlow.get(key);
    assert.ok(want, `record ${key} is not a flow of the capture`);
    assert.ok(!seen.has(key), `flow ${key} exported twice`);
    seen.add(key);
    assert.deepEqual({ packets: r.packets, bytes: r.bytes }, want, key);
    assert.equal(r.exporter, '127.0.0.1');
    assert.equal(r.flow_version, version);
    assert.equal(r.ip_version, r.src_ip.includes(':') ? 6 : 4);
    assert.ok(r.flow_start <= r.timestamp, `${key}: start ${r.flow_start} after end ${r.timestamp}`);
    assert.ok(r.time_received > 0);
  }
}

async function metric(name: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${checker.addresses().metricsPort}/metrics`);
  const text = await res.text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'm').exec(text);
  assert.ok(m, `${name} in /metrics`);
  return Number(m[1]);
}

for (const version of [9, 5] as const) {
  test(`softflowd -r capture.pcap -v ${version}: JetStream holds the capture's flows, packets and bytes`, { timeout: 180_000 }, () => withChecker(async () => {
    const ports = await trafficPorts();
    const pcap = `${dir.path}/traffic-v${version}.pcap`;
    const capture = await startCapture(pcap, captureFilter(ports));
    await makeTraffic(ports, 2);
    await new Promise((r) => setTimeout(r, 500));
    await capture.kill();
    // v5 carries no IPv6: softflowd leaves those flows out.
    const totals = tsharkTotals(pcap, { ipv4Only: version === 5 });
    assert.ok(totals.flows > 40, `capture has ${totals.flows} flows`);

    const sf = await runSoftflowd(pcap, checker.addresses().udpPort, version, dir.path);
    const records = await collect(sf.records);

    assert.equal(sf.failures, 0);
    assert.deepEqual(sums(records), { flows: totals.flows, packets: totals.packets, bytes: totals.bytes }, 'JetStream vs tshark');
    assert.equal(records.length, sf.records, 'JetStream vs softflowd records exported');
    if (version === 9) {
      // softflowd's per-protocol table counts every flow it tracked (v5 leaves IPv6 out of the export only).
      assert.deepEqual({ packets: sf.packets, bytes: sf.octets }, { packets: totals.packets, bytes: totals.bytes }, 'softflowd statistics vs tshark');
    }
    assertPerFlow(records, totals, version);

    const h = checker.health();
    assert.equal(h.packets, sf.datagrams, 'datagrams decoded = datagrams softflowd sent');
    assert.equal(h.packets_malformed, 0);
    assert.equal(Object.values(h.sequence_gaps).reduce((a, b) => a + b, 0), 0, 'no sequence gaps');
    if (version === 9) {
      assert.ok((h.templates['127.0.0.1'] ?? 0) > 0, 'templates known for the exporter');
      await assertReportsAgree(records.length);
    }
  }));
}

test('fprobe exporting v5 live from lo: JetStream holds the captured flows', { timeout: 180_000 }, () => withChecker(async () => {
  const ports = await trafficPorts();
  const filter = captureFilter(ports);
  const pcap = `${dir.path}/traffic-fprobe.pcap`;
  const capture = await startCapture(pcap, filter);
  const fprobe = startFprobe(filter, checker.addresses().udpPort);
  await waitFor('fprobe to capture', () => {
    if (fprobe.proc.exitCode !== null) throw new Error(`fprobe exited: ${fprobe.output()}`);
    return /collector #1/.test(fprobe.output());
  });
  await makeTraffic(ports, 1);
  await new Promise((r) => setTimeout(r, 1000));
  // SIGTERM: fprobe exports its whole cache, then exits.
  await fprobe.kill();
  await capture.kill();
  const totals = tsharkTotals(pcap, { ipv4Only: true });
  const records = await collect(totals.flows);
  assert.deepEqual(sums(records), { flows: totals.flows, packets: totals.packets, bytes: totals.bytes }, 'JetStream vs tshark');
  assertPerFlow(records, totals, 5);
  // fprobe's own count is its v5 sequence: no gap means every flow it numbered arrived.
  assert.equal(Object.values(checker.health().sequence_gaps).reduce((a, b) => a + b, 0), 0);
}));

/** The agent's view over gRPC, a netflow.status message and /metrics, against the stream's count. */
async function assertReportsAgree(inStream: number): Promise<void> {
  const status = nc.subscribe(STATUS_SUBJECT, { max: 1 });
  const client = agentClient(`127.0.0.1:${checker.addresses().grpcPort}`);
  try {
    const view = await agentCheck(client, 'netflow', 'grpc');
    assert.equal(view.available, true);
    const d = view.details as unknown as ReturnType<CheckerService['health']>;
    assert.equal(d.collector_id, 'live-test');
    assert.equal(d.flows, inStream);
    assert.equal(d.published, inStream);
    assert.deepEqual(d.dropped, { queue_full: 0, shutdown: 0, kernel: 0 });
    assert.equal(d.nats.state, 'connected');
    for await (const m of status) {
      const s = JSON.parse(m.string()) as typeof d;
      assert.equal(s.collector_id, 'live-test');
      assert.equal(s.flows, inStream);
      assert.equal(s.published, inStream);
    }
    assert.equal(await metric('netflow_checker_flows_total'), inStream);
    assert.equal(await metric('netflow_checker_published_total'), inStream);
    assert.equal(await metric('netflow_checker_packets_total'), d.packets);
    assert.equal(await metric('netflow_checker_nats_connected'), 1);
  } finally {
    client.close();
  }
}
