// Top-N over a range split between tiers (core-extension/query/execute.ts).
// Each part is an engine over its own groups, ranking with ties in random order
// as a real engine may; the answer must equal brute force over the sum of the
// parts (ranked by the metric, ties by key), with exact sums and "other" row,
// whatever the split. The real engines are tested in tiers.test.ts; this one
// searches the splits that make the bounds fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execute, type Part } from '../../core-extension/query/execute.js';
import type { Aggregate, AggRow, AggregateEngine, Query } from '../../core-extension/query/model.js';
import { rng } from '../helpers/iceberg-flows.js';

type Groups = Map<number, { bytes: number; packets: number; flows: number }>;

interface Probe extends AggregateEngine { lookups: number[][] }

/** Where a tied group falls in an engine's top list: at random, or larger ports first. */
type TieOrder = (() => number) | 'reverse';

/** An engine holding one part's groups by dst_port; `only` lists must fit `onlyLimit`. */
function engine(groups: Groups, ties: TieOrder, onlyLimit: number): Probe {
  const lookups: number[][] = [];
  return {
    onlyLimit,
    lookups,
    async aggregate(agg: Aggregate) {
      const all = [...groups].map(([port, s]) => ({ keys: [port], ...s }));
      if (!agg.keys.length) {
        const total = all.reduce((t, r) => ({ keys: [], bytes: t.bytes + r.bytes, packets: t.packets + r.packets, flows: t.flows + r.flows }), { keys: [], bytes: 0, packets: 0, flows: 0 } as AggRow);
        return { rows: all.length ? [total] : [], rowsRead: all.length, tables: ['t'] };
      }
      let rows: AggRow[] = all;
      if (agg.only) {
        assert.ok(agg.only.length <= onlyLimit, `an only list of ${agg.only.length} > ${onlyLimit}`);
        const want = new Set(agg.only.map((k) => k[0]));
        lookups.push(agg.only.map((k) => Number(k[0])));
        rows = rows.filter((r) => want.has(r.keys[0]!));
      }
      if (agg.top) {
        const { rank, order, limit } = agg.top;
        const tie = new Map(rows.map((r) => [r.keys[0], ties === 'reverse' ? -Number(r.keys[0]) : ties()]));
        rows = [...rows].sort((a, b) => (a[rank] - b[rank]) * (order === 'desc' ? -1 : 1) || tie.get(a.keys[0])! - tie.get(b.keys[0])!).slice(0, limit);
      }
      return { rows, rowsRead: rows.length, tables: ['t'] };
    },
  };
}

function query(limit: number, order: 'asc' | 'desc', metric: 'bytes' | 'flows'): Query {
  return { startMs: 0, endMs: 3000, groupBy: ['dst_port'], byTime: false, interval: null, filters: [], metric, limit, order, asOf: null, format: 'json', tier: 'auto' };
}

/** Brute force: every group's total, ranked with ties by port, plus the rest as "other". */
function bruteForce(parts: Groups[], q: Query): Record<string, unknown>[] {
  const total: Groups = new Map();
  for (const g of parts) for (const [port, s] of g) {
    const t = total.get(port) ?? { bytes: 0, packets: 0, flows: 0 };
    total.set(port, { bytes: t.bytes + s.bytes, packets: t.packets + s.packets, flows: t.flows + s.flows });
  }
  const m = q.metric as 'bytes' | 'flows';
  const ranked = [...total].sort(([pa, a], [pb, b]) => (a[m] - b[m]) * (q.order === 'desc' ? -1 : 1) || pa - pb);
  const top = ranked.slice(0, q.limit!).map(([port, s]) => ({ dst_port: port, ...s }));
  const rest = ranked.slice(q.limit!);
  if (!rest.length) return top;
  const other = rest.reduce((o, [, s]) => ({ bytes: o.bytes + s.bytes, packets: o.packets + s.packets, flows: o.flows + s.flows }), { bytes: 0, packets: 0, flows: 0 });
  return [...top, { dst_port: null, other: true, ...other }];
}

async function run(parts: Groups[], q: Query, ties: TieOrder, onlyLimit = 500) {
  const engines = parts.map((g) => engine(g, ties, onlyLimit));
  const split: Part[] = engines.map((e, i) => ({ engine: e, startMs: i * 1000, endMs: (i + 1) * 1000, name: `part${i}` }));
  const ex = await execute(q, split, new AbortController().signal);
  return { rows: ex.rows, engines };
}

/** Heavy-tailed sums, sometimes quantized to a few values (ties) or zero bytes. */
function randomPart(rand: () => number, groups: number, ports: number, tied: boolean): Groups {
  const g: Groups = new Map();
  for (let i = 0; i < groups; i++) {
    const port = Math.floor(rand() * ports);
    const heavy = Math.floor(50 / Math.pow(rand() + 1e-3, 1.2));
    const bytes = rand() < 0.05 ? 0 : tied ? 10 * Math.ceil(rand() * 4) : heavy;
    g.set(port, { bytes, packets: 1 + Math.floor(bytes / 100), flows: 1 + Math.floor(rand() * 3) });
  }
  return g;
}

test('random splits: the top n and the "other" row equal brute force over the whole range', async () => {
  const rand = rng(20261203);
  for (let trial = 0; trial < 300; trial++) {
    const nParts = 2 + Math.floor(rand() * 2);
    const tied = rand() < 0.3;
    const ports = 200 + Math.floor(rand() * 3000);
    const parts = Array.from({ length: nParts }, () => randomPart(rand, Math.floor(rand() * 1500), ports, tied));
    const q = query(1 + Math.floor(rand() * 30), rand() < 0.85 ? 'desc' : 'asc', rand() < 0.8 ? 'bytes' : 'flows');
    const { rows } = await run(parts, q, rand, rand() < 0.3 ? 3 : 500);
    assert.deepEqual(rows, bruteForce(parts, q), `trial ${trial}: ${nParts} parts, limit ${q.limit}, ${q.order} by ${q.metric}`);
  }
});

test('a group no part lists in its first top k is the true top', async () => {
  // Each part has 600 groups of its own worth 10; port 1 has 9 in each of the three.
  const parts = [0, 1, 2].map((i) => {
    const g: Groups = new Map([[1, { bytes: 9, packets: 1, flows: 1 }]]);
    for (let p = 0; p < 600; p++) g.set(1000 * (i + 1) + p, { bytes: 10, packets: 1, flows: 1 });
    return g;
  });
  const q = query(3, 'desc', 'bytes');
  const { rows } = await run(parts, q, rng(1));
  assert.deepEqual(rows[0], { dst_port: 1, bytes: 27, packets: 3, flows: 3 });
  assert.deepEqual(rows, bruteForce(parts, q));
});

test('a group listed nowhere that ties the n-th wins on key order', async () => {
  // Ports 1000-1599 have 5 in part 0 and 1 in part 1; so has port 1. Both parts
  // list larger ports first among ties, so the first lists hold 1100-1599
  // (totals 6) and leave port 1 out, although it may total 5 + 1 = 6 as well and
  // wins on key order. Only a strict bound (6 > 6 fails) asks for more.
  const parts = [5, 1].map((v) => new Map([1, ...Array.from({ length: 600 }, (_, i) => 1000 + i)].map((port) => [port, { bytes: v, packets: 1, flows: 1 }])));
  const q = query(1, 'desc', 'bytes');
  const { rows } = await run(parts, q, 'reverse');
  assert.deepEqual(rows[0], { dst_port: 1, bytes: 6, packets: 2, flows: 2 });
  assert.deepEqual(rows, bruteForce(parts, q));
});

test('only the groups that can still make the top are looked up, in slices the engine takes', async () => {
  // Part 0: ports 0-999 with falling sums; part 1 a copy scaled down. The top 5
  // are decided by the first lists; few groups are looked up, none twice.
  const parts = [1, 0.1].map((scale) => {
    const g: Groups = new Map();
    for (let p = 0; p < 1000; p++) g.set(p, { bytes: Math.round((100_000 / (p + 1)) * scale), packets: 1, flows: 1 });
    return g;
  });
  const q = query(5, 'desc', 'bytes');
  const { rows, engines } = await run(parts, q, rng(3), 3);
  assert.deepEqual(rows, bruteForce(parts, q));
  const looked = engines.flatMap((e) => e.lookups.flat());
  assert.ok(looked.length < 50, `${looked.length} groups looked up`);
  assert.equal(new Set(looked).size, looked.length, 'no group looked up twice');
});
