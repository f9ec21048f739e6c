// The filesystem catalog empties versions that fall out of the metadata log
// (write.metadata.previous-versions-max = 20) but keeps their names taken for
// 1,000 versions, so a writer whose base is that old can neither pass the
// check that its base is current nor, stalled past the check, link an old
// number again and fork the table. A version hint naming an emptied version,
// or one long gone, still finds the newest. Worked out by hand: one create
// (v1) and 25 commits make v26, with v6..v25 in its log and v1..v5 emptied;
// 1,030 commits make v1031, and the names of v1..v31 are released.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FsCatalog } from '../../consumers/iceberg/catalog-fs.js';
import { createExclusive } from '../../consumers/iceberg/io.js';
import { CommitConflictError, type Commit } from '../../consumers/iceberg/metadata.js';
import { tempDir } from '../helpers/process.js';

const setProperty = (i: number): Commit => ({ requirements: [], updates: [{ action: 'set-properties', updates: { 'test.commit': String(i) } }] });

async function commits(catalog: FsCatalog, from: number, to: number): Promise<void> {
  for (let i = from; i <= to; i++) await catalog.commit((await catalog.load())!, setProperty(i));
}

test('a base older than the kept versions cannot commit, and the hint is not trusted past what exists', async () => {
  const dir = tempDir('iceberg-catalog-fs');
  try {
    const catalog = new FsCatalog(join(dir.path, 'netflow'));
    const metadata = join(dir.path, 'netflow', 'metadata');
    const version = (n: number) => join(metadata, `v${n}.metadata.json`);
    const stale = await catalog.create();
    await commits(catalog, 1, 25);
    for (let n = 1; n <= 5; n++) assert.equal(statSync(version(n)).size, 0, `v${n} emptied`);
    for (let n = 6; n <= 26; n++) assert.ok(statSync(version(n)).size > 0, `v${n} kept`);

    await assert.rejects(catalog.commit(stale, setProperty(99)), CommitConflictError);
    assert.equal(await createExclusive(version(2), Buffer.from('{}')), false, 'the name of an emptied version is still taken');
    const current = (await catalog.load())!;
    assert.equal(current.metadataLocation, version(26));
    assert.equal(current.metadata.properties['test.commit'], '25');

    for (const hint of ['3', '500', 'x']) {
      writeFileSync(join(metadata, 'version-hint.text'), hint);
      assert.equal((await catalog.load())!.metadataLocation, version(26), `hint ${hint}`);
    }
    await commits(catalog, 26, 1030);
    for (let n = 1; n <= 31; n++) assert.ok(!existsSync(version(n)), `v${n} released`);
    assert.equal(statSync(version(32)).size, 0);
    assert.equal((await catalog.load())!.metadata.properties['test.commit'], '1030');
  } finally {
    dir.remove();
  }
});
