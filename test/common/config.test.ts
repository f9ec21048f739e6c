import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseDuration, type Schema } from '../../common/config.js';
import { tempDir } from '../helpers/process.js';

interface Sample { batch_size: number; batch_interval: number; listen_addr: string }
const schema: Schema<Sample> = {
  batch_size: { doc: '', format: 'positive-int', default: 10000 },
  batch_interval: { doc: '', format: 'duration-ms', default: '5m' as unknown as number },
  listen_addr: { doc: '', format: 'host-port', default: ':2055' },
};

function withFile(content: string, fn: (path: string) => void) {
  const dir = tempDir('config');
  try {
    const path = join(dir.path, 'c.json');
    writeFileSync(path, content);
    fn(path);
  } finally { dir.remove(); }
}

test('durations in the PRD notation', () => {
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('2d'), 172_800_000);
  assert.equal(parseDuration('500ms'), 500);
  assert.throws(() => parseDuration('5 minutes'));
});

test('defaults apply when the file is absent', () => {
  const c = loadConfig(schema, '/nonexistent/x.json');
  assert.deepEqual(c, { batch_size: 10000, batch_interval: 300_000, listen_addr: ':2055' });
});

test('each invalid key is named with its reason', () => {
  const cases: Array<[string, RegExp]> = [
    ['{"batch_size": -1}', /batch_size: must be a positive integer/],
    ['{"batch_interval": "soon"}', /batch_interval: must be a duration/],
    ['{"listen_addr": "2055"}', /listen_addr: must be host:port/],
    ['{"listen_addr": ":99999"}', /listen_addr: port must be 0-65535/],
    ['{"batchsize": 5}', /batchsize/],
    ['{"batch_size": 5', /not valid JSON/],
    ['[1]', /must be a JSON object/],
  ];
  for (const [content, re] of cases) {
    withFile(content, (path) => {
      assert.throws(() => loadConfig(schema, path), (err: unknown) => err instanceof ConfigError && re.test(err.message) && err.message.includes(path), content);
    });
  }
});
