// Unit formatting: SI prefixes (1 K = 1000), 3 significant digits, rounding
// that carries into the next prefix. Expected strings worked out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBitRate, formatBytes, formatCount, formatPacketRate, formatShare, formatExact, formatAxis, formatMetric } from '../../core-extension/ui/lib/units.js';

test('bit rates use b/s, Kb/s, Mb/s, Gb/s, Tb/s', () => {
  assert.equal(formatBitRate(0), '0 b/s');
  assert.equal(formatBitRate(999), '999 b/s');
  assert.equal(formatBitRate(1000), '1.00 Kb/s');
  assert.equal(formatBitRate(1234567), '1.23 Mb/s');
  assert.equal(formatBitRate(12_345_678), '12.3 Mb/s');
  assert.equal(formatBitRate(123_456_789), '123 Mb/s');
  assert.equal(formatBitRate(9.87e9), '9.87 Gb/s');
  assert.equal(formatBitRate(4e13), '40.0 Tb/s');
});

test('rounding carries into the next prefix instead of printing 1000', () => {
  assert.equal(formatBitRate(999_700), '1.00 Mb/s');
  assert.equal(formatBytes(999_999_999), '1.00 GB');
  assert.equal(formatBytes(999_400), '999 KB');
});

test('fractional rates below one unit keep their digits', () => {
  assert.equal(formatBitRate(0.5), '0.500 b/s');
  assert.equal(formatPacketRate(0.25), '0.250 pkt/s');
  assert.equal(formatPacketRate(0.004), '0.004 pkt/s');
  assert.equal(formatPacketRate(12.5), '12.5 pkt/s');
});

test('bytes and counts', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.54 KB');
  assert.equal(formatBytes(5_000_000_000_000), '5.00 TB');
  assert.equal(formatCount(999), '999');
  assert.equal(formatCount(1500), '1.50K');
  assert.equal(formatCount(2_340_000), '2.34M');
  assert.equal(formatCount(7.8e9), '7.80G');
  assert.equal(formatPacketRate(45_600), '45.6K pkt/s');
});

test('metric formatter follows the API metric', () => {
  assert.equal(formatMetric('bytes', 2e6), '2.00 MB');
  assert.equal(formatMetric('packets', 2e6), '2.00M pkts');
  assert.equal(formatMetric('flows', 310), '310 flows');
  assert.equal(formatMetric('bps', 2e6), '2.00 Mb/s');
  assert.equal(formatMetric('pps', 2e6), '2.00M pkt/s');
});

test('axis labels drop trailing zeros', () => {
  assert.equal(formatAxis('bps', 2e9), '2 Gb/s');
  assert.equal(formatAxis('bytes', 1.5e6), '1.5 MB');
  assert.equal(formatAxis('pps', 250_000), '250K');
  assert.equal(formatAxis('bps', 0), '0');
});

test('shares and exact values', () => {
  assert.equal(formatShare(0.5), '50.0%');
  assert.equal(formatShare(0.0123), '1.23%');
  assert.equal(formatShare(0.0004), '<0.1%');
  assert.equal(formatShare(0), '0.00%');
  assert.equal(formatExact(1234567), '1,234,567');
  assert.equal(formatExact(999), '999');
});
