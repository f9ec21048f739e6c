// The poller's netflow check against the real pipeline: a nats-server with
// JetStream, both writers running as their services (chDB shared with the
// core-extension in this process, a filesystem Iceberg table), flows published
// as the checker publishes them. A client speaking the agent's wire format by
// hand asks Health/Check then GetStatus: valid JSON with the flows it was sent;
// `available` goes false when a writer stops while flows keep coming, and true
// again once a writer catches up.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from 'nats';
import { encodeBatch } from '../../common/flow.js';
import { SUBJECT } from '../../common/stream.js';
import { createRegistry } from '../../common/metrics.js';
import { loadWriterConfig } from '../../consumers/clickhouse/config.js';
import { ClickHouseWriterService } from '../../consumers/clickhouse/service.js';
import { loadParquetWriterConfig } from '../../consumers/iceberg/config.js';
import { ParquetWriterService } from '../../consumers/iceberg/service.js';
import type { CoreService } from '../../core-extension/service.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { tempDir, waitFor } from '../helpers/process.js';
import { agentCheck, agentClient, getStatus, healthCheck, NOT_SERVING } from '../checker/agent-client.js';
import { makeRecords } from './records.js';
import { call, coreConfig, log, startCore, TOKEN } from './fixtures.js';

let nats: NatsServer;
let nc: NatsConnection;
let chWriter: ClickHouseWriterService;
let iceWriter: ParquetWriterService | undefined;
let core: CoreService;
const dirs = { ch: tempDir('poll-ch'), ice: tempDir('poll-ice') };
let sent = { flows: 0, bytes: 0 };

function parquetWriter(): ParquetWriterService {
  return new ParquetWriterService(loadParquetWriterConfig(undefined, { overrides: { nats_url: nats.url, output_path: dirs.ice.path, batch_interval: 500, batch_size: 1000 } as never }), log);
}

async function publish(n: number, seed: number): Promise<void> {
  const js = nc.jetstream();
  const now = Date.now();
  const records = makeRecords(n, now - 60_000, now - 1000, seed);
  for (let i = 0; i < records.length; i += 50) await js.publish(SUBJECT, encodeBatch({ records: records.slice(i, i + 50), collector_id: 'test' }));
  sent = { flows: sent.flows + n, bytes: sent.bytes + records.reduce((s, r) => s + r.bytes * Math.max(1, r.sampling_rate), 0) };
}

before(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  chWriter = new ClickHouseWriterService(loadWriterConfig(undefined, { overrides: { nats_url: nats.url, clickhouse_data_dir: dirs.ch.path, batch_wait: 300, metrics_listen_addr: '' } as never }), log, createRegistry('test-ch-writer'));
  await chWriter.start();
  iceWriter = parquetWriter();
  await iceWriter.start();
  core = await startCore(await coreConfig({ netflow: { nats_url: nats.url, clickhouse_data_dir: dirs.ch.path, iceberg_path: dirs.ice.path, stall_after: 3000 } }));
});

after(async () => {
  await core?.stop();
  await iceWriter?.stop();
  await chWriter?.stop();
  await nc?.close();
  await nats?.destroy();
  for (const d of Object.values(dirs)) d.remove();
});

test('the agent-style check: SERVING, then GetStatus with valid JSON counting the flows sent', async () => {
  await publish(400, 21);
  const client = agentClient(`127.0.0.1:${core.grpcPort}`);
  try {
    let view!: Awaited<ReturnType<typeof agentCheck>>;
    await waitFor('both writers caught up and the flows in the hot tier', async () => {
      view = await agentCheck(client, 'netflow_metrics', 'netflow');
      const w = view.details.writers as Record<string, { state: string }>;
      return view.details.flows_5m === sent.flows && w['clickhouse-writer']!.state === 'caught_up' && w['parquet-writer']!.state === 'caught_up';
    }, 30_000, 300);
    assert.equal(view.available, true);
    assert.equal(view.serviceName, 'netflow_metrics');
    assert.equal(view.serviceType, 'netflow');
    assert.ok(view.responseTimeNs > 0);
    const d = view.details;
    assert.equal(d.status, 'ok');
    assert.equal(d.flows_5m, sent.flows);
    assert.equal(d.bytes_5m, sent.bytes);
    const talkers = d.top_talkers as { src_ip: string; bytes: number }[];
    assert.ok(talkers.length > 0 && talkers.length <= 5);
    for (let i = 1; i < talkers.length; i++) assert.ok(talkers[i - 1]!.bytes >= talkers[i]!.bytes);
    assert.equal((d.tiers as { clickhouse: { ok: boolean } }).clickhouse.ok, true);
    // The HTTP route gives the same document.
    const http = await call(core.httpPort, 'GET', '/api/netflow/status', { token: TOKEN });
    assert.equal(http.json().flows_5m, sent.flows);
  } finally {
    client.close();
  }
});

test('available flips to false when the parquet writer stops while flows keep coming, and back when one runs again', async () => {
  const client = agentClient(`127.0.0.1:${core.grpcPort}`);
  try {
    await iceWriter!.stop();
    iceWriter = undefined;
    await publish(200, 22);
    let status!: Awaited<ReturnType<typeof getStatus>>;
    await waitFor('the check to report the stalled writer', async () => {
      status = await getStatus(client, 'netflow_metrics', 'netflow');
      return !status.available;
    }, 30_000, 500);
    const d = JSON.parse(status.message);
    assert.equal(d.status, 'stalled');
    assert.equal(d.writers['parquet-writer'].state, 'stalled');
    assert.ok(d.writers['parquet-writer'].messages_behind > 0);
    assert.equal(d.writers['clickhouse-writer'].state, 'caught_up');
    assert.match(d.problems.join('\n'), /parquet-writer: \d+ messages waiting/);
    // The agent's first call, Health/Check, says so too.
    assert.equal(await healthCheck(client), NOT_SERVING);

    iceWriter = parquetWriter();
    await iceWriter.start();
    await waitFor('the check to recover', async () => (await getStatus(client, 'netflow_metrics', 'netflow')).available, 30_000, 500);
  } finally {
    client.close();
  }
});
