// The filesystem catalog deletes versions that fall out of the metadata log
// (write.metadata.previous-versions-max = 20). A base older than that (a long
// compaction's, a writer stalled for many commits) finds v<n+1> free again:
// it must still be refused, or it would fork the table there and hide every
// later commit. And a version hint naming a deleted version still finds the
// newest one. Worked out by hand: one create (v1) and 25 commits make v26.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FsCatalog } from '../../consumers/iceberg/catalog-fs.js';
import { CommitConflictError, type Commit } from '../../consumers/iceberg/metadata.js';
import { tempDir } from '../helpers/process.js';

const setProperty = (i: number): Commit => ({ requirements: [], updates: [{ action: 'set-properties', updates: { 'test.commit': String(i) } }] });

test('a base older than the kept versions cannot commit, and a hint naming a deleted version is passed over', async () => {
  const dir = tempDir('iceberg-catalog-fs');
  try {
    const catalog = new FsCatalog(join(dir.path, 'netflow'));
    const stale = await catalog.create();
    for (let i = 1; i <= 25; i++) await catalog.commit((await catalog.load())!, setProperty(i));
    const metadata = join(dir.path, 'netflow', 'metadata');
    assert.ok(!existsSync(join(metadata, 'v2.metadata.json')), 'v2 fell out of the metadata log and was deleted');
    assert.ok(existsSync(join(metadata, 'v26.metadata.json')));

    await assert.rejects(catalog.commit(stale, setProperty(99)), CommitConflictError);
    const current = (await catalog.load())!;
    assert.equal(current.metadataLocation, join(metadata, 'v26.metadata.json'));
    assert.equal(current.metadata.properties['test.commit'], '25');

    writeFileSync(join(metadata, 'version-hint.text'), '3');
    assert.equal((await catalog.load())!.metadataLocation, join(metadata, 'v26.metadata.json'));
    await catalog.commit((await catalog.load())!, setProperty(26));
    assert.equal((await catalog.load())!.metadata.properties['test.commit'], '26');
  } finally {
    dir.remove();
  }
});
