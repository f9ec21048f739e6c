// The Iceberg REST catalog protocol (the production catalog, PRD
// `iceberg_catalog`): config, namespaces, create/load table, and commits as
// requirements + updates. The server writes the metadata JSON; the writer
// writes data files, manifests and manifest lists under the table location the
// server reports (a file:// warehouse, local or mounted).
import type { Catalog, LoadedTable } from './catalog.js';
import { CommitConflictError, CommitStateUnknownError, parseMetadata, TABLE_PROPERTIES, type Commit } from './metadata.js';
import { partitionSpecJson, schemaJson, sortOrderJson } from './schema.js';

export interface RestOptions {
  /** Sent as `Authorization: Bearer`; never logged. */
  token?: string;
  warehouse?: string;
  /** Location for a table this writer creates; empty = the server's default under its warehouse. */
  location?: string;
  properties?: Record<string, string>;
  timeoutMs?: number;
}

export class RestCatalog implements Catalog {
  readonly describe: string;
  private readonly namespace: string[];
  private readonly name: string;
  private prefix: string | undefined;

  constructor(private readonly uri: string, table: string, private readonly opts: RestOptions = {}) {
    const parts = table.split('.');
    if (parts.length < 2 || parts.some((p) => !p)) throw new Error(`iceberg_table "${table}" must be namespace.table`);
    this.name = parts.pop()!;
    this.namespace = parts;
    this.describe = `rest:${uri.replace(/\/+$/, '')}/${table}`;
  }

  private async request(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown; text: string }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    const res = await fetch(`${this.uri.replace(/\/+$/, '')}${path}`, {
      method, headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
    });
    const text = await res.text();
    let json: unknown;
    try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
    return { status: res.status, json, text };
  }

  private async base(): Promise<string> {
    if (this.prefix === undefined) {
      const q = this.opts.warehouse ? `?warehouse=${encodeURIComponent(this.opts.warehouse)}` : '';
      const r = await this.request('GET', `/v1/config${q}`);
      if (r.status !== 200) throw new Error(`${this.describe}: GET /v1/config answered ${r.status}: ${errorText(r)}`);
      const cfg = r.json as { overrides?: Record<string, string>; defaults?: Record<string, string> };
      this.prefix = cfg.overrides?.prefix ?? cfg.defaults?.prefix ?? '';
    }
    return this.prefix ? `/v1/${encodeURIComponent(this.prefix)}` : '/v1';
  }

  private async tablePath(): Promise<string> {
    return `${await this.base()}/namespaces/${encodeURIComponent(this.namespace.join('\x1f'))}/tables/${encodeURIComponent(this.name)}`;
  }

  private toLoaded(json: unknown, text: string): LoadedTable {
    const body = json as { 'metadata-location': string };
    // Re-parse the metadata object from the raw text so 64-bit ids are checked.
    const mdText = JSON.stringify((JSON.parse(text) as { metadata: unknown }).metadata);
    return { metadata: parseMetadata(mdText, this.describe), metadataLocation: body['metadata-location'] };
  }

  async load(): Promise<LoadedTable | undefined> {
    const r = await this.request('GET', await this.tablePath());
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw new Error(`${this.describe}: loading the table answered ${r.status}: ${errorText(r)}`);
    return this.toLoaded(r.json, r.text);
  }

  async create(): Promise<LoadedTable> {
    const base = await this.base();
    const ns = await this.request('POST', `${base}/namespaces`, { namespace: this.namespace, properties: {} });
    if (ns.status !== 200 && ns.status !== 409) throw new Error(`${this.describe}: creating namespace ${this.namespace.join('.')} answered ${ns.status}: ${errorText(ns)}`);
    const body = {
      name: this.name,
      ...(this.opts.location ? { location: this.opts.location } : {}),
      schema: schemaJson(),
      'partition-spec': partitionSpecJson(),
      'write-order': sortOrderJson(),
      'stage-create': false,
      properties: { ...TABLE_PROPERTIES, ...(this.opts.properties ?? {}) },
    };
    const r = await this.request('POST', `${base}/namespaces/${encodeURIComponent(this.namespace.join('\x1f'))}/tables`, body);
    if (r.status === 409) {
      const existing = await this.load();
      if (existing) return existing;
    }
    if (r.status !== 200) throw new Error(`${this.describe}: creating the table answered ${r.status}: ${errorText(r)}`);
    return this.toLoaded(r.json, r.text);
  }

  async commit(_base: LoadedTable, commit: Commit): Promise<LoadedTable> {
    const body = { identifier: { namespace: this.namespace, name: this.name }, requirements: commit.requirements, updates: commit.updates };
    let r;
    try {
      r = await this.request('POST', await this.tablePath(), body);
    } catch (err) {
      throw new CommitStateUnknownError(`${this.describe}: commit request failed: ${(err as Error).message}`);
    }
    if (r.status === 200) return this.toLoaded(r.json, r.text);
    if (r.status === 409) throw new CommitConflictError(`${this.describe}: ${errorText(r)}`);
    if (r.status >= 500) throw new CommitStateUnknownError(`${this.describe}: commit answered ${r.status}: ${errorText(r)}`);
    throw new Error(`${this.describe}: commit refused (${r.status}): ${errorText(r)}`);
  }
}

function errorText(r: { json: unknown; text: string }): string {
  const e = (r.json as { error?: { message?: string; type?: string } } | undefined)?.error;
  return e ? `${e.type ?? 'error'}: ${e.message ?? ''}` : r.text.slice(0, 300);
}
