// Where the planner splits a range between the tiers (planner.ts seam()):
// instants worked out by hand from the rule "the newest UTC midnight that both
// tiers cover, else the first whole hour they both cover".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seam } from '../../core-extension/query/planner.js';

const at = (iso: string) => Date.parse(iso);

test('a midnight both tiers cover: the newest one', () => {
  // 2 d threshold at 10:17:33: ClickHouse from 1 Dec 10:17:33, Iceberg up to 3 Dec 10:12.
  assert.equal(seam(at('2026-12-01T10:17:33Z'), at('2026-12-03T10:12:00Z')), at('2026-12-03T00:00:00Z'));
  // Iceberg stops before today's midnight: yesterday's.
  assert.equal(seam(at('2026-12-01T10:17:33Z'), at('2026-12-02T23:58:00Z')), at('2026-12-02T00:00:00Z'));
  // Iceberg holds exactly up to midnight.
  assert.equal(seam(at('2026-12-02T10:00:00Z'), at('2026-12-03T00:00:00Z')), at('2026-12-03T00:00:00Z'));
});

test('no midnight in the window: the first whole hour ClickHouse covers', () => {
  // 6 h threshold at 10:20, Iceberg 2 h behind: 04:20 to 08:15, so 05:00.
  assert.equal(seam(at('2026-12-03T04:20:00Z'), at('2026-12-03T08:15:00Z')), at('2026-12-03T05:00:00Z'));
  // On the hour already.
  assert.equal(seam(at('2026-12-03T04:00:00Z'), at('2026-12-03T08:15:00Z')), at('2026-12-03T04:00:00Z'));
  // No whole hour either: where Iceberg stops.
  assert.equal(seam(at('2026-12-03T04:20:00Z'), at('2026-12-03T04:50:00Z')), at('2026-12-03T04:50:00Z'));
});

test('Iceberg further behind than the threshold: it answers what it holds', () => {
  assert.equal(seam(at('2026-12-03T04:20:00Z'), at('2026-12-03T01:30:00Z')), at('2026-12-03T01:30:00Z'));
});
