// Replays test/decoder/corpus/: inputs that once broke the decoder (kept as the
// fuzzer found them) and hand-built seeds that each drive one counter. Every
// input's counters must be exactly those worked out by hand in expected.json,
// and the fuzz invariants (bench/fuzz/check.ts) must hold for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_KINDS, NetFlowDecoder } from '../../checker/decoder/index.js';
import { F, v9Packet } from '../../demo/exporter/packets.js';
import { checkInput } from '../../bench/fuzz/check.js';

const CORPUS = join(fileURLToPath(import.meta.url), '..', '..', '..', '..', 'test', 'decoder', 'corpus');

interface SeqExpect { exporter: string; sourceId: number; version: number; packets: number; gaps?: number; lost?: number; reordered?: number; resets?: number; restarts?: number }
interface Expected {
  what: string;
  expect: Record<string, unknown> & { errors?: Record<string, number>; templates?: Record<string, number> };
  sequence?: SeqExpect[];
  first?: Record<string, unknown>;
}

const expected = JSON.parse(readFileSync(join(CORPUS, 'expected.json'), 'utf8')) as Record<string, Expected>;
const files = readdirSync(CORPUS).filter((f) => f.endsWith('.bin')).sort();

const COUNTERS = ['packets', 'packets_malformed', 'flows', 'templates_learned', 'templates_evicted', 'template_fields', 'pending', 'pending_bytes',
  'pending_decoded', 'pending_expired', 'pending_dropped', 'exporters_evicted'] as const;

test('every corpus file has its expected counters, and every expectation its file', () => {
  const names = files.map((f) => f.replace(/\.bin$/, ''));
  assert.deepEqual(Object.keys(expected).filter((k) => !k.startsWith('_')).sort(), names);
  assert.ok(names.length >= 20);
});

for (const file of files) {
  const name = file.replace(/\.bin$/, '');
  test(`corpus ${name}: ${expected[name]?.what ?? '(no expectation)'}`, () => {
    const e = expected[name];
    assert.ok(e, `${name} has no entry in expected.json`);
    const { decoder, records } = checkInput(readFileSync(join(CORPUS, file)));
    const s = decoder.stats();
    for (const c of COUNTERS) assert.equal(s[c], (e.expect[c] as number | undefined) ?? 0, c);
    assert.deepEqual(s.errors, Object.fromEntries(ERROR_KINDS.map((k) => [k, e.expect.errors?.[k] ?? 0])));
    assert.deepEqual(s.templates, e.expect.templates ?? {});
    if (e.sequence) {
      const got = s.sequenceGaps.map((g) => ({ exporter: g.exporter, sourceId: g.sourceId, version: g.version, packets: g.packets, gaps: g.gaps, lost: g.lost, reordered: g.reordered, resets: g.resets, restarts: g.restarts }));
      assert.deepEqual(got, e.sequence.map((q) => ({ gaps: 0, lost: 0, reordered: 0, resets: 0, restarts: 0, ...q })));
    }
    if (e.first) for (const [k, v] of Object.entries(e.first)) assert.equal((records[0] as unknown as Record<string, unknown>)[k], v, `first record ${k}`);
  });
}

test('template memory is bounded: 1,100 exporters each defining a different 256-field template', () => {
  const budget = 20_000;
  const decoder = new NetFlowDecoder({ maxTemplateFields: budget });
  for (let i = 0; i < 1100; i++) {
    // 255 variable-length fields and one of 1-8 bytes: a layout of its own per exporter.
    const fields = Array.from({ length: 256 }, (_, k) => (k === 0 ? { type: F.IN_BYTES, length: 1 + (i % 8) } : { type: 1000 + ((i + k) % 50), length: 65535 }));
    const d = v9Packet({ sysUptime: 1000, unixSecs: 1_700_000_000, sequence: 0, sourceId: 0 }, [{ kind: 'templates', templates: [{ id: 256, fields }] }]);
    decoder.decode(d, `198.18.${i >> 8}.${i & 255}`, 1_700_000_000_000);
  }
  const s = decoder.stats();
  assert.equal(s.templates_learned, 1100);
  // Each kept template holds 256 fields: 78 exporters fit in 20,000 (19,968), the other 1,022 gave way.
  assert.equal(s.template_fields, 256 * Object.values(s.templates).reduce((a, b) => a + b, 0));
  assert.equal(s.template_fields, 78 * 256);
  assert.equal(s.exporters_evicted, 1100 - 78);
});
