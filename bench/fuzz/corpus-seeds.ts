// Writes the hand-built seeds of test/decoder/corpus/ (one per decoder counter,
// built with the demo's independent packet builder). Their expected counters
// are worked out by hand in test/decoder/corpus/expected.json; a fuzz finding
// is added beside them as it was found. Usage: node dist/bench/fuzz/corpus-seeds.js test/decoder/corpus
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { F, v5Packet, v9Packet, encodeRecord, type TemplateField, type V9Set } from '../../demo/exporter/packets.js';
import { joinFrames } from './frames.js';

const S = 1_700_000_000;
/** 17-byte records: source, destination, bytes, packets, protocol. */
const FIELDS: TemplateField[] = [{ type: F.IPV4_SRC_ADDR, length: 4 }, { type: F.IPV4_DST_ADDR, length: 4 }, { type: F.IN_BYTES, length: 4 }, { type: F.IN_PKTS, length: 4 }, { type: F.PROTOCOL, length: 1 }];
const rec = (i: number) => encodeRecord(FIELDS, { [F.IPV4_SRC_ADDR]: `10.0.0.${i}`, [F.IPV4_DST_ADDR]: '192.0.2.99', [F.IN_BYTES]: 1000 * i, [F.IN_PKTS]: i, [F.PROTOCOL]: 6 });
const templates = (...ids: number[]): V9Set => ({ kind: 'templates', templates: ids.map((id) => ({ id, fields: FIELDS })) });
/** Two records (34 bytes) and 2 bytes of padding: a 40-byte set. */
const data = (templateId = 256): V9Set => ({ kind: 'data', templateId, records: [rec(1), rec(2)] });
const v9 = (sets: V9Set[], h: Partial<{ sysUptime: number; unixSecs: number; sequence: number; sourceId: number }> = {}) =>
  v9Packet({ sysUptime: 100_000, unixSecs: S, sequence: 0, sourceId: 1, ...h }, sets);
const raw = (...bytes: number[]): V9Set => ({ kind: 'raw', bytes: Uint8Array.from(bytes) });
const v5 = (count?: number, records = 2) => v5Packet({ sysUptime: 100_000, unixSecs: S, sequence: 0, ...(count === undefined ? {} : { count }) },
  Array.from({ length: records }, (_, i) => ({ src_ip: `10.0.5.${i + 1}`, dst_ip: '192.0.2.55', packets: i + 1, bytes: 500 * (i + 1), first: 90_000, last: 99_000, protocol: 17 })));
const frames = (...fs: [number, Uint8Array][]) => joinFrames(fs.map(([exporterIndex, datagram]) => ({ exporterIndex, datagram })));

const SEEDS: Record<string, Uint8Array> = {
  'v5-two-flows': frames([0, v5()]),
  'short-3-bytes': frames([0, Uint8Array.from([0, 9, 0])]),
  'v5-header-cut-at-20': frames([0, v5().subarray(0, 20)]),
  'ipfix-version-10': frames([0, Uint8Array.from([0, 10, 0, 16, ...new Array<number>(12).fill(0)])]),
  'v5-count-0-and-31': frames([0, v5(0, 0)], [0, v5(31, 0)]),
  'v5-count-2-one-record': frames([0, v5(2, 1)]),
  'v9-template-and-data': frames([0, v9([templates(256), data()])]),
  'v9-data-before-template': frames([0, v9([data()], { sequence: 0 })], [0, v9([templates(256)], { sequence: 1 })]),
  'v9-set-length-2': frames([0, v9([templates(256), data(), raw(0x01, 0x00, 0x00, 0x02, 0xff, 0xff)])]),
  'v9-template-count-past-set': frames([0, v9([raw(0, 0, 0, 4 + 4 + 20, 1, 0, 0, 10, ...FIELDS.flatMap((f) => [0, f.type, 0, f.length])), data()])]),
  'v9-template-no-fields': frames([0, v9([raw(0, 0, 0, 8, 1, 0, 0, 0)])]),
  'v9-data-length-misfit': frames([0, v9([templates(256), { kind: 'data', templateId: 256, records: [rec(1), rec(2), Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff])], padding: 0 }])]),
  'v9-padding-after-last-set': frames([0, Uint8Array.from([...v9([templates(256), data()]), 0, 0, 0, 0, 0, 0, 0, 0])]),
  'v9-five-sets-waiting': frames(...[0, 1, 2, 3, 4].map((i): [number, Uint8Array] => [0, v9([data(300)], { sequence: i })])),
  'v9-waiting-set-expires': frames([0, v9([data(300)])], ...[1, 2, 3, 4, 5, 6].map((): [number, Uint8Array] => [1, v5()])),
  'v9-restart-then-stale': frames(
    [0, v9([templates(256), data()], { sysUptime: 100_000, unixSecs: S, sequence: 0 })],
    [0, v9([data()], { sysUptime: 1_000, unixSecs: S + 100, sequence: 0 })],
    [0, v9([templates(256), data()], { sysUptime: 101_000, unixSecs: S + 1, sequence: 1 })]),
  'v9-sequence-gap': frames([0, v9([templates(256), data()], { sequence: 10 })], [0, v9([templates(256), data()], { sequence: 15 })]),
  'five-exporters': frames(...[0, 1, 2, 3, 4].map((i): [number, Uint8Array] => [i, v5()])),
  'v9-nine-templates': frames([0, v9([templates(256, 257, 258, 259, 260, 261, 262, 263, 264)])]),
  'v9-template-257-fields': frames([0, v9([{ kind: 'templates', templates: [{ id: 256, fields: Array.from({ length: 257 }, () => ({ type: 1000, length: 1 })) }, { id: 257, fields: FIELDS }] }])]),
  'template-field-budget': frames([0, v9([templates(256, 257, 258, 259, 260, 261, 262, 263)])], [1, v9([templates(256, 257, 258, 259, 260, 261)])]),
  // Found reading the compile path during the first fuzz run: compiling this took ~20 ms and keeping it ~1 MB, before the 256-field cap.
  'v9-template-16000-variable-fields': frames([0, v9([{ kind: 'templates', templates: [{ id: 256, fields: Array.from({ length: 16_000 }, (_, i) => ({ type: 1000 + (i % 7), length: 65535 })) }] }])]),
  'v9-sampling-options': frames([0, v9([
    { kind: 'options-templates', templates: [{ id: 257, scope: [{ type: 1, length: 4 }], options: [{ type: F.SAMPLING_INTERVAL, length: 4 }] }] },
    { kind: 'data', templateId: 257, records: [Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 100])] },
    templates(256), data(),
  ])]),
};

const dir = process.argv[2] ?? 'test/decoder/corpus';
for (const [name, bytes] of Object.entries(SEEDS)) writeFileSync(join(dir, `${name}.bin`), bytes);
console.log(`${Object.keys(SEEDS).length} seeds written to ${dir}`);
