// Spike rule: median + k * 1.4826 * MAD, with the fallbacks. Medians and
// deviations below are worked out by hand in the comments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spikeRule, findSpikes, median, describeRule } from '../../core-extension/ui/lib/spikes.js';

test('median of odd and even counts', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('one spike among ordinary days', () => {
  // sorted: 9 10 10 11 12 13 100 -> median 11; |dev| = 2 1 1 0 1 2 89 -> sorted 0 1 1 1 2 2 89 -> MAD 1
  // threshold = 11 + 3 * 1.4826 * 1 = 15.4478
  const days = [10, 12, 9, 100, 11, 13, 10];
  const rule = spikeRule(days, 3);
  assert.equal(rule.method, 'mad');
  assert.equal(rule.median, 11);
  assert.ok(Math.abs(rule.threshold - 15.4478) < 1e-9);
  assert.deepEqual(findSpikes(days, rule), [3]);
  // k = 2 lowers the bar to 11 + 2.9652 = 13.9652: 13 is still ordinary.
  assert.deepEqual(findSpikes(days, spikeRule(days, 2)), [3]);
});

test('a lower k flags more', () => {
  // median 10; |dev| = 0 0 1 1 4 8 -> MAD (1+1)/2 = 1; k=2 -> 12.9652, k=5 -> 17.413
  const days = [10, 10, 9, 11, 14, 18];
  assert.deepEqual(findSpikes(days, spikeRule(days, 2)), [4, 5]);
  assert.deepEqual(findSpikes(days, spikeRule(days, 5)), [5]);
});

test('leading empty buckets are not part of the baseline', () => {
  // Without the zeros: 5 5 6 5 40 -> median 5, |dev| 0 0 1 0 35 -> MAD 0 -> mean AD = 36/5 = 7.2
  // spread = 1.2533 * 7.2 = 9.02376; threshold = 5 + 3 * 9.02376 = 32.07128
  const days = [0, 0, 0, 0, 0, 0, 5, 5, 6, 5, 40];
  const rule = spikeRule(days, 3);
  assert.equal(rule.n, 5);
  assert.equal(rule.method, 'mean-ad');
  assert.ok(Math.abs(rule.threshold - 32.07128) < 1e-9);
  assert.deepEqual(findSpikes(days, rule), [10]);
});

test('flat and short periods flag nothing, and say why', () => {
  const flat = spikeRule([7, 7, 7, 7, 7, 7], 3);
  assert.equal(flat.method, 'flat');
  assert.deepEqual(findSpikes([7, 7, 7, 7, 7, 7], flat), []);
  const short = spikeRule([0, 1, 100, 1], 3);
  assert.equal(short.method, 'too-few');
  assert.deepEqual(findSpikes([0, 1, 100, 1], short), []);
  assert.equal(describeRule(short, String, 'day'), 'Spikes need at least 5 days with traffic to set a baseline; this range has 3.');
  assert.equal(describeRule(spikeRule([10, 12, 9, 100, 11, 13, 10], 3), (v) => v.toFixed(1), 'day'),
    'Spike: a day above median + 3 × MAD × 1.4826 = 15.4 (median 11.0, scaled MAD 1.5, over 7 days).');
});
