// The ledger every fault test counts against: what the load generator says it
// sent equals what Wireshark's NetFlow dissector decodes from a capture of it
// (flows, bytes, packets), per exporter address too, and every exporter sends
// from its own loopback address.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startLoad } from '../../bench/load/generator.js';
import { byExporter, totals } from '../../bench/load/ledger.js';
import { startCapture } from '../checker/traffic.js';
import { freePort, tempDir } from '../helpers/process.js';

const dir = tempDir('ledger');
after(() => dir.remove());

test('the load generator\'s ledger equals what tshark decodes from the wire', { timeout: 120_000 }, async () => {
  const port = await freePort();
  const pcap = join(dir.path, 'load.pcap');
  const capture = await startCapture(pcap, `udp dst port ${port}`);
  const load = await startLoad({ port, exporters: 20, rate: 200, durationMs: 3000 });
  const ledger = await load.done;
  await new Promise((r) => setTimeout(r, 500));
  await capture.kill('SIGINT');

  const r = spawnSync('tshark', ['-r', pcap, '-d', `udp.port==${port},cflow`, '-T', 'fields', '-e', 'ip.src', '-e', 'cflow.octets', '-e', 'cflow.packets'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  assert.equal(r.status, 0, r.stderr);
  const wire = new Map<string, { flows: number; bytes: number; packets: number }>();
  for (const line of r.stdout.split('\n')) {
    const [src, octets, packets] = line.split('\t');
    if (!src || !octets) continue;
    const t = wire.get(src) ?? { flows: 0, bytes: 0, packets: 0 };
    for (const v of octets.split(',')) { t.bytes += Number(v); t.flows++; }
    for (const v of (packets ?? '').split(',')) t.packets += Number(v || 0);
    wire.set(src, t);
  }
  const sent = totals(ledger.sources);
  assert.ok(sent.flows > 5000, `traffic was sent (${sent.flows} flows)`);
  assert.equal(sent.sendErrors, 0);
  assert.deepEqual(new Map([...wire].sort()), new Map([...byExporter(ledger.sources)].sort()), 'per exporter address: flows, bytes, packets');
  assert.equal(wire.size, 20, 'twenty exporter addresses');
  for (const a of wire.keys()) assert.match(a, /^127\.1\.0\.\d+$/);
});
