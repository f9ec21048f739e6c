// NetFlow keeps arriving over UDP while nats-server is stopped for 30 s and
// then restarted. Three checkers, three policies: a roomy queue loses nothing;
// a small drop_newest queue drops exactly what it counts; a small block queue
// stops reading the socket and the kernel buffer carries the outage.
// Every record is accounted for: sent = published + dropped (+ kernel drops).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { connect } from 'nats';
import { createLogger } from '../../common/log.js';
import { STREAM } from '../../common/stream.js';
import { loadCheckerConfig, type DropPolicy } from '../../checker/config.js';
import { CheckerService } from '../../checker/service.js';
import { v5Packet, type V5Record } from '../../demo/exporter/packets.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { waitFor } from '../helpers/process.js';
import { agentClient, healthCheck, NOT_SERVING, SERVING } from './agent-client.js';
import { readStream } from './stream-reader.js';

const log = createLogger('test', process.env.TEST_LOG ?? 'silent');
const OUTAGE_MS = 30_000;
const PER_DATAGRAM = 20;
const TICK_MS = 10;

let nats: NatsServer;
before(async () => { nats = await startNatsServer(); });
after(async () => { await nats.destroy(); });

interface Lane { name: string; policy: DropPolicy; queueSize: number; checker: CheckerService; sentRecords: number; sequence: number }

/** Datagram `n` for lane `lane`: record k carries its global number in `bytes`. */
function datagram(lane: Lane, bootMs: number): Uint8Array {
  const now = Date.now();
  const records: V5Record[] = [];
  for (let k = 0; k < PER_DATAGRAM; k++) {
    records.push({ src_ip: '192.0.2.10', dst_ip: '198.51.100.20', src_port: 1000 + k, dst_port: 53, protocol: 17, packets: 1, bytes: ++lane.sentRecords, first: now - bootMs - 5, last: now - bootMs });
  }
  const d = v5Packet({ sysUptime: now - bootMs, unixSecs: Math.floor(now / 1000), unixNsecs: (now % 1000) * 1e6, sequence: lane.sequence }, records);
  lane.sequence += PER_DATAGRAM;
  return d;
}

/** "a-b c-d" runs of 1..n absent from `have`, for failure messages. */
function ranges(n: number, have: Set<number>): string {
  const out: string[] = [];
  for (let q = 1; q <= n; q++) {
    if (have.has(q)) continue;
    const start = q;
    while (q < n && !have.has(q + 1)) q++;
    out.push(`${start}-${q}`);
  }
  return out.slice(0, 20).join(' ') + (out.length > 20 ? ` ... (${out.length} runs)` : '');
}

test('NATS stopped 30 s during UDP ingest, then restarted', { timeout: 240_000 }, async (t) => {
  const specs: Array<[string, DropPolicy, number]> = [['roomy', 'drop_oldest', 200_000], ['newest', 'drop_newest', 5_000], ['block', 'block', 5_000]];
  const lanes: Lane[] = [];
  for (const [name, policy, queueSize] of specs) {
    const config = loadCheckerConfig(undefined, {
      overrides: {
        listen_addr: '127.0.0.1:0', grpc_listen_addr: '127.0.0.1:0', metrics_listen_addr: '',
        nats_url: nats.url, collector_id: name, drop_policy: policy, queue_size: queueSize,
        batch_size: 500, batch_linger_ms: 50, publish_timeout_ms: 2000,
      },
    });
    const checker = new CheckerService(config, log);
    await checker.start();
    lanes.push({ name, policy, queueSize, checker, sentRecords: 0, sequence: 0 });
  }
  await waitFor('checkers connected', () => lanes.every((l) => l.checker.status().available));

  const socket = dgram.createSocket('udp4');
  const bootMs = Date.now() - 3_600_000;
  const send = () => {
    for (const lane of lanes) socket.send(datagram(lane, bootMs), lane.checker.addresses().udpPort, '127.0.0.1');
  };
  const feed = setInterval(send, TICK_MS);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const agent = agentClient(`127.0.0.1:${lanes[0]!.checker.addresses().grpcPort}`);

  try {
    await sleep(3000);
    assert.equal(await healthCheck(agent), SERVING);
    await nats.stop();
    await sleep(OUTAGE_MS / 2);
    // The agent sees the checker unavailable while NATS is away.
    assert.equal(await healthCheck(agent), NOT_SERVING);
    const mid = lanes.map((l) => l.checker.health());
    assert.equal(mid[2]!.udp.paused, true, 'block policy stopped reading the socket');
    assert.ok(mid[1]!.dropped.queue_full > 0, 'drop_newest already dropping');
    await sleep(OUTAGE_MS / 2);
    await nats.start();
    await sleep(8000);
  } finally {
    clearInterval(feed);
  }
  await sleep(200);
  socket.close();

  for (const lane of lanes) {
    await waitFor(`${lane.name} drained`, () => {
      const h = lane.checker.health();
      const kernelLost = (h.dropped.kernel ?? 0) * PER_DATAGRAM;
      return h.published + h.dropped.queue_full + kernelLost === lane.sentRecords && h.queue.depth === 0 && h.queue.in_flight === 0;
    }, 60_000).catch((e) => { throw new Error(`${(e as Error).message}: sent ${lane.sentRecords}, ${JSON.stringify(lane.checker.health())}`); });
  }
  assert.equal(await healthCheck(agent), SERVING);
  agent.close();

  const nc = await connect({ servers: nats.url });
  const contents = await readStream(nc);
  const si = await (await nc.jetstreamManager()).streams.info(STREAM);
  assert.equal(contents.messages, si.state.messages, 'read the whole stream');
  await nc.close();
  // Before stop: the kernel's drop counter belongs to the open socket.
  const final = lanes.map((l) => l.checker.health());
  for (const lane of lanes) await lane.checker.stop();

  for (const [i, lane] of lanes.entries()) {
    const h = final[i]!;
    assert.notEqual(h.dropped.kernel, null, 'kernel drops readable on Linux');
    const records = contents.byCollector.get(lane.name) ?? [];
    const mine = new Set(records.map((r) => r.bytes));
    const count = records.length;
    const kernelLost = (h.dropped.kernel ?? 0) * PER_DATAGRAM;
    t.diagnostic(`${lane.name} (${lane.policy}, queue ${lane.queueSize}): sent ${lane.sentRecords}, published ${h.published}, dropped ${h.dropped.queue_full}, kernel-dropped datagrams ${h.dropped.kernel}, retries ${h.publish_retries}, duplicate acks ${h.duplicate_acks}`);
    const missing = lane.sentRecords - mine.size;
    t.diagnostic(`${lane.name} missing ranges: ${ranges(lane.sentRecords, mine)}`);
    assert.equal(count, mine.size, `${lane.name}: no record stored twice`);
    assert.equal(mine.size, h.published, `${lane.name}: the stream holds what was acknowledged`);
    assert.equal(missing, h.dropped.queue_full + kernelLost, `${lane.name}: what is missing is what was counted as dropped`);
    assert.equal(h.flows, lane.sentRecords - kernelLost, `${lane.name}: every datagram read was decoded`);
    if (lane.name === 'roomy') assert.equal(missing, 0, 'roomy: nothing lost while the queue had room');
    if (lane.name === 'newest') assert.ok(h.dropped.queue_full > 40_000, `newest: dropped ${h.dropped.queue_full}`);
    if (lane.name === 'block') {
      assert.equal(h.dropped.queue_full, 0, 'block never drops from its queue');
      // The decoder sees the kernel's drops as v5 sequence gaps: the two counts agree.
      assert.equal(Object.values(h.sequence_gaps).reduce((a, b) => a + b, 0), kernelLost);
    }
  }
});
