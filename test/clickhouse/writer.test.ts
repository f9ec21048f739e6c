// The writer against a real nats-server and each real engine: records arrive
// with every field intact and sums equal to what was sent, in the flows table
// and in every rollup; corrupt messages are dead-lettered with a reason while
// the valid ones around them are stored; and a redelivered message that a
// crash left in some tables only is completed in the others, exactly once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AckPolicy, DeliverPolicy } from 'nats';
import { toColumns, type FlowRecord } from '../../common/flow.js';
import { CONSUMERS, DEAD_LETTER_PREFIX, DEAD_LETTER_STREAM, STREAM, SUBJECT, ensureConsumer, ensureStream } from '../../common/stream.js';
import { migrate } from '../../consumers/clickhouse/migrate.js';
import { encodeMessage, markerRow } from '../../consumers/clickhouse/rows.js';
import { PAYLOAD_COLUMNS, ROLLUPS } from '../../consumers/clickhouse/schema.js';
import {
  ADDRESSES, chunks, DATA_TABLE_NAMES, ENGINE_KINDS, ENGINE_NAMES, freshDatabase, log, makeFlows, publish, startEngine, startNats, startWriter,
  tableTotals, totals, waitForConsumerDrained, waitForFlows, writerConfig, type EngineEnv, type Nats,
} from './harness.js';

const DAY = 86_400_000;

for (const kind of ENGINE_KINDS) {
  describe(`clickhouse-writer on ${ENGINE_NAMES[kind]}`, () => {
    let env: EngineEnv;
    let nats: Nats;
    before(async () => { env = await startEngine(kind); });
    after(async () => { await env.close(); });

    test('every field arrives intact, and every table sums to what was sent', async () => {
      nats = await startNats();
      const db = freshDatabase();
      // Across a UTC midnight, so messages span two partitions.
      const midnight = Math.floor(Date.now() / DAY) * DAY;
      const records = makeFlows(3000, { seed: 7, baseMs: midnight + 30_000, spreadMs: 60_000 });
      const batches = chunks(records, 97);
      const writer = await startWriter(writerConfig(env, nats.server, db));
      try {
        const seqs = await publish(nats.nc, batches, 'checker\t"ü"\\1');
        await waitForFlows(env.engine, db, records.length);
        await waitForConsumerDrained(nats.nc, CONSUMERS.clickhouse);

        // The engine's own address parsers give the bytes each address must be stored as.
        const expectedHex = new Map<string, string>();
        for (const a of [...ADDRESSES, '192.0.2.1', '192.0.2.2', '2001:db8:ffff::1', '10.255.0.1', '2001:db8::fe']) {
          const fn = a.includes(':') ? `IPv6StringToNum('${a}')` : `IPv4ToIPv6(IPv4StringToNum('${a}'))`;
          expectedHex.set(a, (await env.engine.query<{ h: string }>(`SELECT lower(hex(${fn})) AS h`))[0]!.h);
        }
        expectedHex.set('', '0'.repeat(32));

        const rows = await env.engine.query<Record<string, string | number>>(`SELECT toUnixTimestamp(timestamp) AS timestamp,
lower(hex(src_ip)) AS src_ip, lower(hex(dst_ip)) AS dst_ip, src_port, dst_port, protocol, bytes, packets, lower(hex(exporter)) AS exporter,
source_id, input_if, output_if, tcp_flags, tos, src_as, dst_as, src_mask, dst_mask, lower(hex(next_hop)) AS next_hop, sampling_rate,
toUnixTimestamp(flow_start) AS flow_start, ip_version, flow_version, toUnixTimestamp(time_received) AS time_received, collector_id
FROM ${db}.flows WHERE ingest_seq = 0 ORDER BY input_if`);
        assert.equal(rows.length, records.length, 'one row per record, no duplicates');
        const sec = (ms: number) => Math.floor(ms / 1000);
        rows.forEach((row, i) => {
          const r = records[i]!;
          const want: Record<string, string | number> = {
            timestamp: sec(r.timestamp), src_ip: expectedHex.get(r.src_ip)!, dst_ip: expectedHex.get(r.dst_ip)!, src_port: r.src_port, dst_port: r.dst_port,
            protocol: r.protocol, bytes: String(r.bytes), packets: String(r.packets), exporter: expectedHex.get(r.exporter)!, source_id: r.source_id,
            input_if: r.input_if, output_if: r.output_if, tcp_flags: r.tcp_flags, tos: r.tos, src_as: r.src_as, dst_as: r.dst_as,
            src_mask: r.src_mask, dst_mask: r.dst_mask, next_hop: expectedHex.get(r.next_hop)!, sampling_rate: r.sampling_rate,
            flow_start: sec(r.flow_start), ip_version: r.ip_version, flow_version: r.flow_version, time_received: sec(r.time_received),
            collector_id: 'checker\t"ü"\\1',
          };
          // JSON numbers vs strings differ between engines for some widths: compare as text.
          assert.deepEqual(Object.fromEntries(Object.entries(row).map(([k, v]) => [k, String(v)])), Object.fromEntries(Object.entries(want).map(([k, v]) => [k, String(v)])), `record ${i}`);
        });

        const sent = totals(records);
        for (const table of DATA_TABLE_NAMES) assert.deepEqual(await tableTotals(env.engine, db, table), sent, table);

        // A rollup grouped by one of its dimensions matches the records grouped the same way.
        const byPort = new Map<number, bigint>();
        for (const r of records) byPort.set(r.dst_port, (byPort.get(r.dst_port) ?? 0n) + BigInt(r.bytes) * BigInt(r.sampling_rate));
        const got = await env.engine.query<{ p: number; b: string }>(`SELECT dst_port AS p, sum(bytes * sampling_rate) AS b FROM ${db}.flows_1m_dst_ports WHERE ingest_seq = 0 GROUP BY p ORDER BY p`);
        assert.deepEqual(got.map((g) => [Number(g.p), BigInt(g.b)]), [...byPort.entries()].sort((a, b) => a[0] - b[0]));

        // One marker per message per UTC day it touches, in every table.
        const expectedMarkers = batches.reduce((n, b) => n + new Set(b.map((r) => Math.floor(r.timestamp / DAY))).size, 0);
        assert.ok(expectedMarkers > batches.length, 'some messages span midnight');
        for (const table of DATA_TABLE_NAMES) {
          const [m] = await env.engine.query<{ n: string; seqs: string }>(`SELECT count() AS n, uniqExact(ingest_seq) AS seqs FROM ${db}.${table} WHERE ingest_seq != 0`);
          assert.equal(Number(m!.n), expectedMarkers, `${table} markers`);
          assert.equal(Number(m!.seqs), seqs.length, `${table} marker sequences`);
        }
      } finally {
        await writer.stop();
        await nats.close();
      }
    });

    test('corrupt messages go to the dead-letter subject with a reason; the valid ones around them are stored', async () => {
      nats = await startNats();
      const db = freshDatabase();
      const good = makeFlows(600, { seed: 3 });
      const [a, b, c] = chunks(good, 200);
      const badRecord = makeFlows(5, { seed: 4 });
      badRecord[2]!.src_ip = 'not-an-address';
      const badPort = makeFlows(3, { seed: 5 });
      badPort[1]!.dst_port = 70_000;
      const js = nats.nc.jetstream();
      const writer = await startWriter(writerConfig(env, nats.server, db));
      try {
        await publish(nats.nc, [a!]);
        const garbage = (await js.publish(SUBJECT, new Uint8Array([0xff, 0xff, 0xff, 0x0f, 0x01]))).seq;
        await publish(nats.nc, [b!]);
        const [invalidIp] = await publish(nats.nc, [badRecord]);
        const [invalidPort] = await publish(nats.nc, [badPort]);
        await publish(nats.nc, [c!]);
        await waitForFlows(env.engine, db, good.length);
        await waitForConsumerDrained(nats.nc, CONSUMERS.clickhouse);
        assert.deepEqual(await tableTotals(env.engine, db, 'flows'), totals(good));

        const jsm = await nats.nc.jetstreamManager();
        await jsm.consumers.add(DEAD_LETTER_STREAM, { durable_name: 'test', ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All });
        const consumer = await js.consumers.get(DEAD_LETTER_STREAM, 'test');
        const dead: { subject: string; seq: string; reason: string }[] = [];
        for await (const m of await consumer.fetch({ max_messages: 10, expires: 2000 })) {
          dead.push({ subject: m.subject, seq: m.headers?.get('stream-seq') ?? '', reason: m.headers?.get('reason') ?? '' });
          m.ack();
        }
        assert.deepEqual(dead.map((d) => [d.subject, Number(d.seq)]), [garbage, invalidIp, invalidPort].map((s) => [`${DEAD_LETTER_PREFIX}.clickhouse`, s]));
        assert.match(dead[0]!.reason, /not a FlowBatch/);
        assert.match(dead[1]!.reason, /record 2: src_ip "not-an-address" is not an IP address/);
        assert.match(dead[2]!.reason, /record 1: dst_port 70000 is not an integer from 0 to 65535/);
      } finally {
        await writer.stop();
        await nats.close();
      }
    });

    test('a redelivered message is stored once: skipped where stored, completed where a crash left it out', async () => {
      nats = await startNats();
      const db = freshDatabase();
      await migrate(env.engine, db, 2 * DAY, log);
      const jsm = await nats.nc.jetstreamManager();
      await ensureStream(jsm, { max_bytes: 64 << 20, max_age_ms: 3_600_000, replicas: 1 }, log);
      await ensureConsumer(jsm, CONSUMERS.clickhouse, { ack_wait_ms: 2000, max_ack_pending: 1000 });
      const [stored, partial, lost] = [makeFlows(150, { seed: 11 }), makeFlows(170, { seed: 12 }), makeFlows(190, { seed: 13 })];
      const seqs = await publish(nats.nc, [stored, partial, lost]);
      // A writer that dies after its inserts and before its acks: it pulls the
      // three messages, then never acks them.
      const consumer = await nats.nc.jetstream().consumers.get(STREAM, CONSUMERS.clickhouse);
      let pulled = 0;
      for await (const _m of await consumer.fetch({ max_messages: 3, expires: 2000 })) pulled++;
      assert.equal(pulled, 3);
      // What it got done: `stored` everywhere (through the ingest table), `partial`
      // in the flows table and one rollup only, `lost` nowhere.
      const insertVia = async (table: string, seq: number, records: FlowRecord[]) => {
        for (const chunk of encodeMessage(toColumns({ records, collector_id: 'test-checker' })).chunks) {
          await env.engine.insert(`${db}.${table}`, { format: 'TabSeparated', columns: PAYLOAD_COLUMNS, data: Buffer.concat([chunk.data, markerRow(seq, chunk.markerTs)]) });
        }
      };
      await insertVia('flows_ingest', seqs[0]!, stored);
      await insertVia('flows', seqs[1]!, partial);
      await insertVia(ROLLUPS.find((r) => r.name === 'flows_1m_src_hosts')!.feed, seqs[1]!, partial);

      // Redelivery comes after ack_wait (2 s); the writer then sees all three flagged redelivered.
      const writer = await startWriter(writerConfig(env, nats.server, db, { ack_wait: 3000 }));
      try {
        const all = [...stored, ...partial, ...lost];
        await waitForFlows(env.engine, db, all.length);
        await waitForConsumerDrained(nats.nc, CONSUMERS.clickhouse);
        const sent = totals(all);
        for (const table of DATA_TABLE_NAMES) assert.deepEqual(await tableTotals(env.engine, db, table), sent, table);
        for (const table of DATA_TABLE_NAMES) {
          const markers = await env.engine.query<{ s: string; n: string }>(`SELECT ingest_seq AS s, count() AS n FROM ${db}.${table} WHERE ingest_seq != 0 GROUP BY s ORDER BY s`);
          assert.deepEqual(markers.map((m) => [Number(m.s), Number(m.n)]), seqs.map((s) => [s, 1]), `${table}: one marker per message`);
        }
      } finally {
        await writer.stop();
        await nats.close();
      }
    });
  });
}
