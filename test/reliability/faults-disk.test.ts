// The cold tier's filesystem full (a 64 MiB tmpfs, filled) until space returns:
// the Parquet writer holds its batch and commits it once there is room.
// Mounting needs root.
import { test } from 'node:test';
import { lossless } from './faults.js';

test('cold tier disk full, then space freed: nothing lost, nothing twice', { timeout: 300_000, skip: process.getuid?.() !== 0 ? 'mounting a tmpfs needs root' : false }, async () => {
  await lossless('cold tier disk full', { downMs: 5000 });
});
