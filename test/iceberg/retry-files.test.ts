// A commit that fails is retried with the files it already wrote, but only
// while they are younger than reuseFilesMs: older unreferenced files may be
// swept (orphan_grace) before the retry lands, and the snapshot would then
// name files that are gone. The catalog is the real filesystem one, its first
// commit refused once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FsCatalog } from '../../consumers/iceberg/catalog-fs.js';
import type { Commit } from '../../consumers/iceberg/metadata.js';
import type { LoadedTable } from '../../consumers/iceberg/catalog.js';
import { makeFlows } from '../helpers/iceberg-flows.js';
import { readWithPeers } from '../helpers/iceberg-peers.js';
import { streamMessage, withTable, writerFor } from '../helpers/iceberg-writer.js';

class RefusesFirstCommit extends FsCatalog {
  private refused = false;
  override async commit(base: LoadedTable, commit: Commit): Promise<LoadedTable> {
    if (!this.refused) { this.refused = true; throw new Error('disk full'); }
    return super.commit(base, commit);
  }
}

for (const [reuseFilesMs, files] of [[60_000, 1], [0, 2]] as const) {
  test(`a retried commit ${files === 1 ? 'reuses its young files' : 'writes its files again once they are old'}`, () => withTable('iceberg-retry', async (root, parquet) => {
    const writer = writerFor(new RefusesFirstCommit(root), parquet, { reuseFilesMs });
    // Records of one day (yesterday): one data file per attempt.
    const records = makeFlows(500, { seed: 4, startMs: (Math.floor(Date.now() / 86_400_000) - 1) * 86_400_000 + 60_000, ratePerSecond: 100 });
    const batch = [streamMessage(1, records)];
    await assert.rejects(writer.write(batch), /disk full/);
    await writer.write(batch);
    const dayDir = readdirSync(join(root, 'data'))[0]!;
    assert.equal(readdirSync(join(root, 'data', dayDir)).length, files, 'data files on disk');
    const views = await readWithPeers({ static: root });
    assert.equal(views.pyiceberg.rows, 500);
    assert.equal(views.pyiceberg.files.length, 1);
  }));
}
