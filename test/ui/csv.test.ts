// CSV: RFC 4180 quoting and CRLF, numbers as numbers, formula cells defused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toCsv, csvFileName } from '../../core-extension/ui/lib/csv.js';

test('plain rows', () => {
  assert.equal(toCsv(['Source IP', 'Bytes'], [['10.0.0.1', 1500], ['2001:db8::1', 0]]), 'Source IP,Bytes\r\n10.0.0.1,1500\r\n2001:db8::1,0\r\n');
});

test('quoting, empty cells and formula triggers', () => {
  assert.equal(toCsv(['a', 'b', 'c'], [['x,y', 'say "hi"', null], ['line\nbreak', '=1+1', -5], ['@SUM(A1)', NaN, '-x']]),
    'a,b,c\r\n"x,y","say ""hi""",\r\n"line\nbreak",\'=1+1,-5\r\n\'@SUM(A1),,\'-x\r\n');
});

test('file names are safe', () => {
  assert.equal(csvFileName(['src_ip', '2025-04-01T00:00:00Z', 'last 7d']), 'netflow-src_ip-2025-04-01T00_00_00Z-last_7d.csv');
});
