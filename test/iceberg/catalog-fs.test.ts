// The filesystem catalog empties versions that fall out of the metadata log
// (write.metadata.previous-versions-max = 20) but keeps their names taken for
// 1,000 versions, so a writer whose base is that old can neither pass the
// check that its base is current nor, stalled past the check, link an old
// number again and fork the table. A version hint naming an emptied version,
// or one long gone, still finds the newest. Worked out by hand: one create
// (v1) and 25 commits make v26, with v6..v25 in its log and v1..v5 emptied;
// 1,030 commits make v1031, and the names of v1..v31 are released. A commit
// stalled between its check and its link while 1,001 others land finds v2's
// name released (at v1002): its link succeeds, and it must be undone and
// reported as not known to have landed, not as a success.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FsCatalog } from '../../consumers/iceberg/catalog-fs.js';
import { createExclusive } from '../../consumers/iceberg/io.js';
import { CommitConflictError, CommitStateUnknownError, type Commit } from '../../consumers/iceberg/metadata.js';
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

/** A writer that stalls just before linking its version while another commits `others` times. */
class StallsBeforeLink extends FsCatalog {
  constructor(root: string, private readonly others: number) { super(root); }
  protected override async link(path: string, bytes: Buffer): Promise<boolean> {
    await commits(new FsCatalog(this.root), 1, this.others);
    return super.link(path, bytes);
  }
}

test('a link made after its name was released is undone and reported as of unknown outcome', async () => {
  const dir = tempDir('iceberg-catalog-stall');
  try {
    const root = join(dir.path, 'netflow');
    const base = await new FsCatalog(root).create();
    await assert.rejects(new StallsBeforeLink(root, 1001).commit(base, setProperty(0)), CommitStateUnknownError);
    const metadata = join(root, 'metadata');
    assert.ok(!existsSync(join(metadata, 'v2.metadata.json')), 'the late link was undone');
    const current = (await new FsCatalog(root).load())!;
    assert.equal(current.metadataLocation, join(metadata, 'v1002.metadata.json'));
    assert.equal(current.metadata.properties['test.commit'], '1001');
  } finally {
    dir.remove();
  }
});
