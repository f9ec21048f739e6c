// The committed-sequence set carried in snapshot summaries (worked examples).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { add, EMPTY, formatRanges, forStream, fromSummary, has, toRanges, toSummary } from '../../consumers/iceberg/seqset.js';

test('ranges merge adjacent sequences', () => {
  assert.deepEqual(toRanges([5, 3, 4, 9, 11, 10, 1]), [[1, 1], [3, 5], [9, 11]]);
  assert.equal(formatRanges(toRanges([5, 3, 4, 9, 11, 10, 1])), '1,3-5,9-11');
});

test('interleaved batches of two instances, then the floor absorbs what is contiguous', () => {
  let s = add(EMPTY, [1, 3, 5]);
  assert.deepEqual(s, { floor: 1, ranges: [[3, 3], [5, 5]] });
  s = add(s, [2, 4]);
  assert.deepEqual(s, { floor: 5, ranges: [] });
  s = add(s, [8, 9]);
  assert.ok(has(s, 4) && has(s, 8) && !has(s, 6) && !has(s, 7) && !has(s, 10));
});

test('the consumer ack floor jumps holes left by dead-lettered messages', () => {
  const s = add({ floor: 10, ranges: [[13, 20]] }, [22], 12);
  assert.deepEqual(s, { floor: 20, ranges: [[22, 22]] });
});

test('summary round trip', () => {
  const s = { floor: 41, ranges: [[43, 50], [52, 52]] as [number, number][] };
  assert.deepEqual(fromSummary({ operation: 'append', ...toSummary(s) }), s);
  assert.deepEqual(fromSummary(undefined), EMPTY);
});

test('a set is of one numbering: another stream starts it empty, a stream whose numbering went back cuts it there', () => {
  const recorded = fromSummary({ operation: 'append', ...toSummary({ floor: 40, ranges: [[42, 45]], stream: '2026-12-01T10:00:00Z' }) });
  assert.deepEqual(recorded, { floor: 40, ranges: [[42, 45]], stream: '2026-12-01T10:00:00Z' });
  assert.deepEqual(forStream(recorded, { created: '2026-12-01T10:00:00Z', lastSeq: 45 }), recorded);
  const renewed = forStream(recorded, { created: '2026-12-03T08:00:00Z', lastSeq: 2 });
  assert.deepEqual(renewed, { floor: 0, ranges: [], stream: '2026-12-03T08:00:00Z' });
  assert.ok(!has(renewed, 1) && !has(renewed, 40));
  assert.deepEqual(add(renewed, [1, 2]), { floor: 2, ranges: [], stream: '2026-12-03T08:00:00Z' });
  // Restored from a backup: the same creation time, numbering on from the backup's last sequence. What it
  // holds was committed; the sequences after it are new messages.
  const restored = (lastSeq: number) => forStream(recorded, { created: '2026-12-01T10:00:00Z', lastSeq });
  assert.deepEqual(restored(30), { floor: 30, ranges: [], stream: '2026-12-01T10:00:00Z' });
  assert.deepEqual(restored(41), { floor: 40, ranges: [], stream: '2026-12-01T10:00:00Z' });
  assert.deepEqual(restored(43), { floor: 40, ranges: [[42, 43]], stream: '2026-12-01T10:00:00Z' });
  assert.ok(!has(restored(43), 44) && has(restored(43), 43) && !has(restored(41), 41));
  // A table written before sets named their stream: taken to be of the current one.
  assert.deepEqual(forStream({ floor: 7, ranges: [] }, { created: 's', lastSeq: 9 }), { floor: 7, ranges: [], stream: 's' });
});
