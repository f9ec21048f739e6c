// The filesystem catalog (the embedded default): the table is a folder with
// data/ and metadata/, versions are metadata/v<N>.metadata.json, and
// metadata/version-hint.text names the newest, which is how DuckDB's
// iceberg_scan, pyiceberg's StaticTable and Hadoop-style catalogs find it.
//
// A commit creates v<N+1> atomically and exclusively (see createExclusive):
// readers see v<N> or v<N+1>, never half a file, and of two writers racing for
// N+1 exactly one wins; the other gets CommitConflictError, as does a base
// that is no longer the newest version. Versions that fall out of the
// metadata log are emptied, not deleted, so their names stay taken: a writer
// stalled for many commits between its check and its link cannot create an
// old number again and fork the table there. The names go 1,000 versions
// later. The hint is rewritten after each commit; a crash between the two
// leaves a stale hint, so loading probes past it.
import { access, mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Catalog, LoadedTable } from './catalog.js';
import { createExclusive, localPath, replaceAtomically } from './io.js';
import { applyCommit, CommitConflictError, CommitStateUnknownError, newTableMetadata, netflowLayout, parseMetadata, type Commit, type TableLayout, type TableMetadata } from './metadata.js';

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
    let n = await this.readHint();
    // A hint far behind (its writer stalled between commit and hint while
    // more than 1,000 others committed) names no file any more.
    if (n === 0 || !(await exists(this.versionPath(n)))) n = await this.newestListed();
    if (n === 0) return 0;
    while (await exists(this.versionPath(n + 1))) n++;
    return n;
  }

  /** The version the hint names; 0 when there is no hint or it is not a number. */
  private async readHint(): Promise<number> {
    try {
      const hint = Number((await readFile(join(this.metadataDir, 'version-hint.text'), 'utf8')).trim());
      return Number.isInteger(hint) && hint > 0 ? hint : 0;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      return 0;
    }
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
    // A free v<n+1> alone does not prove the base current once old names are
    // released: a compaction holding its base through 1,000 commits would fork.
    const latest = await this.latestVersion();
    if (latest !== n) throw new CommitConflictError(`${this.describe}: version ${latest} is current, not ${n}`);
    const md = withMetadataLog(applyCommit(base.metadata, commit), base);
    const path = this.versionPath(n + 1);
    if (!(await this.link(path, Buffer.from(JSON.stringify(md, null, 1))))) {
      throw new CommitConflictError(`${this.describe}: version ${n + 1} was committed by another writer`);
    }
    // A writer stalled between the check and the link for RELEASE_AFTER
    // versions found the name released again: the hint far ahead, or a
    // version that many later, tells. Stalled after its link instead, the
    // commit was real; either way nothing can say which, hence "unknown".
    if (this.releasesNames(md) && ((await this.readHint()) > n + RELEASE_AFTER || (await exists(this.versionPath(n + 1 + RELEASE_AFTER))))) {
      await unlink(path).catch(ignoreMissing);
      throw new CommitStateUnknownError(`${this.describe}: version ${n + 1} was linked ${RELEASE_AFTER}+ versions late`);
    }
    await this.writeHint(n + 1);
    // Another writer may have committed n+2 and written its hint before ours landed.
    if (await exists(this.versionPath(n + 2))) await this.writeHint(await this.latestVersion());
    await this.dropOldVersions(base.metadata, md, n + 1);
    return { metadata: md, metadataLocation: path };
  }

  /** Creates a version file exclusively (false: the name is taken); where a test stalls a commit. */
  protected link(path: string, bytes: Buffer): Promise<boolean> {
    return createExclusive(path, bytes);
  }

  private async writeHint(n: number): Promise<void> {
    await replaceAtomically(join(this.metadataDir, 'version-hint.text'), Buffer.from(String(n)));
  }

  /** write.metadata.delete-after-commit: old versions go, and with them (later) their names. */
  private releasesNames(md: TableMetadata): boolean {
    return md.properties['write.metadata.delete-after-commit.enabled'] === 'true';
  }

  /**
   * Versions that fell out of the metadata log are emptied (their names stay
   * taken), and the name of the version RELEASE_AFTER before this one is released.
   */
  private async dropOldVersions(before: TableMetadata, after: TableMetadata, version: number): Promise<void> {
    if (!this.releasesNames(after)) return;
    const kept = new Set((after['metadata-log'] ?? []).map((e) => e['metadata-file']));
    for (const e of before['metadata-log'] ?? []) {
      const path = localPath(e['metadata-file']);
      // Only this table's own versions (a moved table's log names others), and
      // replaced, not truncated: a reader holding the file open, or a
      // hard-linked backup, keeps it whole.
      if (kept.has(e['metadata-file']) || dirname(path) !== this.metadataDir || !(await exists(path))) continue;
      await replaceAtomically(path, Buffer.alloc(0));
    }
    const released = this.versionPath(version - RELEASE_AFTER);
    if ((await stat(released).catch(() => undefined))?.size === 0) await unlink(released).catch(ignoreMissing);
  }
}

/** Versions back at which an emptied version's name is released. */
export const RELEASE_AFTER = 1000;

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
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
