// The filesystem catalog (the embedded default): the table is a folder with
// data/ and metadata/, versions are metadata/v<N>.metadata.json, and
// metadata/version-hint.text names the newest, which is how DuckDB's
// iceberg_scan, pyiceberg's StaticTable and Hadoop-style catalogs find it.
//
// A commit creates v<N+1> atomically and exclusively (see createExclusive):
// readers see v<N> or v<N+1>, never half a file, and of two writers racing for
// N+1 exactly one wins; the other gets CommitConflictError, as does a base
// that is no longer the newest version (see commit). The hint is
// rewritten afterwards; a crash between the two leaves a stale hint, so
// loading probes past it.
import { access, mkdir, readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Catalog, LoadedTable } from './catalog.js';
import { createExclusive, deleteLocation, replaceAtomically } from './io.js';
import { applyCommit, CommitConflictError, newTableMetadata, netflowLayout, parseMetadata, type Commit, type TableLayout, type TableMetadata } from './metadata.js';

const VERSION = /^v(\d+)\.metadata\.json$/;

export class FsCatalog implements Catalog {
  readonly root: string;
  readonly describe: string;

  constructor(root: string, private readonly properties: Record<string, string> = {}, private readonly layout: TableLayout = netflowLayout()) {
    this.root = resolve(root);
    this.describe = `fs:${this.root}`;
  }

  private get metadataDir(): string { return join(this.root, 'metadata'); }
  private versionPath(n: number): string { return join(this.metadataDir, `v${n}.metadata.json`); }

  /** The newest version number present, or 0 when there is none. */
  private async latestVersion(): Promise<number> {
    let n = 0;
    try {
      const hint = Number((await readFile(join(this.metadataDir, 'version-hint.text'), 'utf8')).trim());
      if (Number.isInteger(hint) && hint > 0) n = hint;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    // A hint written late (a writer stalled between its commit and its hint
    // while others committed) can name a version that has since been deleted
    // with the old ones: then the folder's newest version is where to start.
    if (n === 0 || !(await exists(this.versionPath(n)))) n = await this.newestListed();
    if (n === 0) return 0;
    while (await exists(this.versionPath(n + 1))) n++;
    return n;
  }

  private async newestListed(): Promise<number> {
    let names: string[] = [];
    try { names = await readdir(this.metadataDir); } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    return names.reduce((n, name) => Math.max(n, Number(VERSION.exec(name)?.[1] ?? 0)), 0);
  }

  async load(): Promise<LoadedTable | undefined> {
    const n = await this.latestVersion();
    if (n === 0) return undefined;
    const path = this.versionPath(n);
    return { metadata: parseMetadata(await readFile(path, 'utf8'), path), metadataLocation: path };
  }

  async create(): Promise<LoadedTable> {
    const md = newTableMetadata(this.root, this.properties, Date.now(), this.layout);
    const path = this.versionPath(1);
    await mkdir(this.metadataDir, { recursive: true });
    if (await createExclusive(path, Buffer.from(JSON.stringify(md, null, 1)))) {
      await this.writeHint(1);
      return { metadata: md, metadataLocation: path };
    }
    const existing = await this.load();
    if (!existing) throw new Error(`${this.describe}: table creation raced and no version is readable`);
    return existing;
  }

  async commit(base: LoadedTable, commit: Commit): Promise<LoadedTable> {
    const n = Number(VERSION.exec(base.metadataLocation.split('/').pop() ?? '')?.[1]);
    if (!Number.isInteger(n)) throw new Error(`${this.describe}: ${base.metadataLocation} is not a version of this table`);
    // Old versions are deleted after commits, so a free v<n+1> alone does not
    // prove the base current: a base older than the kept versions (a long
    // compaction's) would fork the table there and hide every later commit.
    const latest = await this.latestVersion();
    if (latest !== n) throw new CommitConflictError(`${this.describe}: version ${latest} is current, not ${n}`);
    const md = withMetadataLog(applyCommit(base.metadata, commit), base);
    const path = this.versionPath(n + 1);
    if (!(await createExclusive(path, Buffer.from(JSON.stringify(md, null, 1))))) {
      throw new CommitConflictError(`${this.describe}: version ${n + 1} was committed by another writer`);
    }
    await this.writeHint(n + 1);
    await this.dropOldVersions(base.metadata, md);
    return { metadata: md, metadataLocation: path };
  }

  private async writeHint(n: number): Promise<void> {
    await replaceAtomically(join(this.metadataDir, 'version-hint.text'), Buffer.from(String(n)));
  }

  /** write.metadata.delete-after-commit: versions that fell out of the metadata log are deleted. */
  private async dropOldVersions(before: TableMetadata, after: TableMetadata): Promise<void> {
    if (after.properties['write.metadata.delete-after-commit.enabled'] !== 'true') return;
    const kept = new Set((after['metadata-log'] ?? []).map((e) => e['metadata-file']));
    for (const e of before['metadata-log'] ?? []) {
      if (!kept.has(e['metadata-file'])) await deleteLocation(e['metadata-file']);
    }
  }
}

/** Appends the previous version to the metadata log, trimmed to write.metadata.previous-versions-max. */
function withMetadataLog(md: TableMetadata, previous: LoadedTable): TableMetadata {
  const max = Number(md.properties['write.metadata.previous-versions-max'] ?? 100);
  const log = [...(previous.metadata['metadata-log'] ?? []), { 'metadata-file': previous.metadataLocation, 'timestamp-ms': previous.metadata['last-updated-ms'] }];
  return { ...md, 'metadata-log': log.slice(Math.max(0, log.length - max)) };
}

async function exists(path: string): Promise<boolean> {
  try { await access(path); return true; } catch { return false; }
}
