// What a catalog does for the writer and the readers: find the table's current
// metadata, create the table, and commit a change atomically (or refuse it with
// CommitConflictError when someone else committed first).
import type { Commit, TableMetadata } from './metadata.js';

export interface LoadedTable {
  metadata: TableMetadata;
  /** Where this version's metadata JSON lives. */
  metadataLocation: string;
}

export interface Catalog {
  /** "fs:/path" or "rest:http://host/ns.table", for logs. */
  readonly describe: string;
  /** The current version, or undefined when the table does not exist. */
  load(): Promise<LoadedTable | undefined>;
  /** Creates the table; when another instance created it first, returns that one. */
  create(): Promise<LoadedTable>;
  /** Applies `commit` on top of `base`; CommitConflictError when `base` is no longer current. */
  commit(base: LoadedTable, commit: Commit): Promise<LoadedTable>;
  close?(): Promise<void>;
}

export async function loadOrCreate(catalog: Catalog): Promise<LoadedTable> {
  return (await catalog.load()) ?? catalog.create();
}

export interface CatalogConfig {
  /** REST catalog URL; empty = the filesystem catalog at output_path. */
  iceberg_catalog: string;
  /** namespace.table in the REST catalog. */
  iceberg_table: string;
  /** The table folder (filesystem catalog) or the location a REST catalog creates the table at (empty = its default). */
  output_path: string;
  iceberg_token?: string;
  iceberg_warehouse?: string;
}

/** The catalog a config names: REST when iceberg_catalog is a URL, else the folder output_path. */
export async function openCatalog(cfg: CatalogConfig): Promise<Catalog> {
  if (cfg.iceberg_catalog) {
    const { RestCatalog } = await import('./catalog-rest.js');
    return new RestCatalog(cfg.iceberg_catalog, cfg.iceberg_table, {
      token: cfg.iceberg_token || undefined,
      warehouse: cfg.iceberg_warehouse || undefined,
      location: cfg.output_path || undefined,
    });
  }
  const { FsCatalog } = await import('./catalog-fs.js');
  return new FsCatalog(cfg.output_path);
}
