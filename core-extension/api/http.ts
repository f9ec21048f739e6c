// The core-extension's HTTP face: login/session routes, /api/netflow (JSON or
// streamed CSV), the status and OpenAPI documents, /metrics, and the web UI's
// static files. Users see reasons, never stack traces; every /api/netflow*
// route needs a session or an API token.
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { Counter, Histogram, type Registry } from '../../common/metrics.js';
import type { Logger } from '../../common/log.js';
import { ParamError, type Tier } from '../query/model.js';
import { QueryTimeoutError, TierUnavailableError, type QueryAnswer } from '../query/planner.js';
import { parseQuery } from './params.js';
import { Auth, SESSION_COOKIE, readCookie, type Principal } from './auth.js';
import { openApiDocument } from './openapi.js';
import { BusyError, QueryGate } from './gate.js';

export interface ApiBackend {
  query(q: ReturnType<typeof parseQuery>): Promise<QueryAnswer>;
  status(): Promise<Record<string, unknown>>;
}

export interface HttpOptions {
  auth: Auth;
  backend: ApiBackend;
  /** Static UI folder; undefined = no UI. */
  uiDir: string | undefined;
  secureCookies: boolean;
  registry: Registry;
  log: Logger;
  /** Queries run at once (the planner's max_concurrent_queries); four times as many may wait, each up to queryWaitMs. */
  maxConcurrentQueries?: number;
  queryWaitMs?: number;
  now?: () => number;
}

const MAX_BODY = 8 * 1024;
/** A client gets this long to send its request headers, and this long for the whole request (slow clients are cut off). */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 20_000;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2', '.woff': 'font/woff', '.map': 'application/json', '.webmanifest': 'application/manifest+json',
};

const TIERS: Record<string, Tier> = { '/api/netflow': 'auto', '/api/netflow/realtime': 'realtime', '/api/netflow/historical': 'historical' };

class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly extra: Record<string, unknown> = {}) { super(message); }
}

export function createHttpServer(opts: HttpOptions): Server {
  const now = opts.now ?? Date.now;
  const running = opts.maxConcurrentQueries ?? 8;
  const gate = new QueryGate(running, 4 * running, opts.queryWaitMs ?? 30_000);
  const requests = new Counter({ name: 'netflow_core_http_requests_total', help: 'HTTP requests', labelNames: ['route', 'status'], registers: [opts.registry] });
  const queryTime = new Histogram({
    name: 'netflow_core_query_seconds', help: 'time to answer /api/netflow', labelNames: ['backend'],
    buckets: [0.01, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30], registers: [opts.registry],
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<string> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path === '/metrics') {
      allow(req, ['GET', 'HEAD']);
      res.writeHead(200, { 'content-type': opts.registry.contentType });
      res.end(await opts.registry.metrics());
      return 'metrics';
    }
    if (path === '/api/login') { allow(req, ['POST']); await login(req, res); return 'login'; }
    if (path === '/api/logout') {
      allow(req, ['POST']);
      opts.auth.logout(readCookie(req.headers.cookie, SESSION_COOKIE));
      res.writeHead(204, { 'set-cookie': cookie('', 0), 'cache-control': 'no-store' }).end();
      return 'logout';
    }
    if (path === '/api/session') {
      allow(req, ['GET']);
      const who = opts.auth.principal(req.headers.cookie, req.headers.authorization);
      if (!who) throw new HttpError(401, 'not logged in');
      json(res, 200, { username: who.username, expires_at: who.expiresAt ? iso(who.expiresAt) : null });
      return 'session';
    }
    if (path === '/api/netflow' || path.startsWith('/api/netflow/')) {
      allow(req, ['GET', 'HEAD']);
      requireAuth(req);
      if (path === '/api/netflow/status') { json(res, 200, await opts.backend.status()); return 'status'; }
      if (path === '/api/netflow/openapi.json') { json(res, 200, openApiDocument()); return 'openapi'; }
      const tier = TIERS[path];
      if (!tier) throw new HttpError(404, 'not found');
      const q = parseQuery(url.searchParams, now(), tier);
      const release = await gate.enter();
      const started = performance.now();
      let answer: QueryAnswer;
      try { answer = await opts.backend.query(q); } finally { release(); }
      const elapsed = performance.now() - started;
      queryTime.observe({ backend: answer.meta.backend }, elapsed / 1000);
      const meta = { ...answer.meta, elapsed_ms: Math.round(elapsed * 10) / 10 };
      if (q.format === 'csv') await csv(res, answer.columns, answer.rows, meta);
      else json(res, 200, { results: answer.rows, meta });
      return tier === 'auto' ? 'netflow' : tier;
    }
    if (path.startsWith('/api/')) throw new HttpError(404, 'not found');
    allow(req, ['GET', 'HEAD']);
    await serveStatic(req, res, path);
    return 'ui';
  }

  function requireAuth(req: IncomingMessage): Principal {
    const who = opts.auth.principal(req.headers.cookie, req.headers.authorization);
    if (!who) throw new HttpError(401, 'authentication required');
    return who;
  }

  async function login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const client = req.socket.remoteAddress ?? '';
    if (opts.auth.throttled(client)) throw new HttpError(429, 'too many failed logins; wait a minute');
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) throw new HttpError(415, 'send the credentials as application/json');
    const body = await readBody(req);
    let creds: unknown;
    try { creds = JSON.parse(body); } catch { throw new HttpError(400, 'body is not valid JSON'); }
    const { username, password } = (creds ?? {}) as Record<string, unknown>;
    if (typeof username !== 'string' || typeof password !== 'string') throw new HttpError(400, 'body must be {"username": "...", "password": "..."}');
    const session = await opts.auth.login(username, password, client);
    if (!session) throw new HttpError(401, 'invalid credentials');
    res.setHeader('set-cookie', cookie(session.id, Math.floor((session.expiresAt - now()) / 1000)));
    json(res, 200, { username: session.username, expires_at: iso(session.expiresAt) });
  }

  function cookie(value: string, maxAgeS: number): string {
    return `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeS}${opts.secureCookies ? '; Secure' : ''}`;
  }

  async function serveStatic(req: IncomingMessage, res: ServerResponse, urlPath: string): Promise<void> {
    if (!opts.uiDir) throw new HttpError(404, 'not found');
    let rel: string;
    try { rel = decodeURIComponent(urlPath); } catch { throw new HttpError(400, 'bad path'); }
    if (rel.includes('\0') || rel.includes('\\')) throw new HttpError(400, 'bad path');
    const root = await realpath(opts.uiDir);
    const clean = normalize(rel).replace(/^([/\\])+/, '');
    // A static export names a page "x.html" or "x/index.html"; the root is index.html.
    const candidates = clean === '' || clean.endsWith('/') ? [join(clean, 'index.html')] : [clean, `${clean}.html`, join(clean, 'index.html')];
    for (const c of candidates) {
      const file = await inside(root, join(root, c));
      if (file) { await sendFile(req, res, file, 200); return; }
    }
    const notFound = await inside(root, join(root, '404.html'));
    if (notFound) { await sendFile(req, res, notFound, 404); return; }
    throw new HttpError(404, 'not found');
  }

  // Slow clients (headers or a body a byte at a time, or nothing at all) are cut off at these
  // deadlines; Node checks them every connectionsCheckingInterval.
  const server = createServer({ headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: 1000 }, (req, res) => {
    setCommonHeaders(res);
    handle(req, res).then(
      (route) => requests.inc({ route, status: String(res.statusCode) }),
      (err: unknown) => {
        const { status, body } = errorResponse(err, opts.log);
        requests.inc({ route: 'error', status: String(status) });
        if (res.headersSent) { res.destroy(); return; }
        // The rest of a refused body is read and dropped (closing at once would reset the
        // connection before the client reads the 413), then the connection ends.
        if (status === 413) res.setHeader('connection', 'close');
        if (err instanceof BusyError) res.setHeader('retry-after', '1');
        json(res, status, body);
      },
    );
  });
  return server;
}

function errorResponse(err: unknown, log: Logger): { status: number; body: Record<string, unknown> } {
  if (err instanceof ParamError) return { status: 400, body: { error: `${err.parameter}: ${err.message}`, parameter: err.parameter } };
  if (err instanceof HttpError) return { status: err.status, body: { error: err.message, ...err.extra } };
  if (err instanceof QueryTimeoutError) return { status: 504, body: { error: err.message } };
  if (err instanceof TierUnavailableError || err instanceof BusyError) return { status: 503, body: { error: err.message } };
  log.error({ err: (err as Error).message, stack: (err as Error).stack }, 'request failed');
  return { status: 500, body: { error: 'internal error' } };
}

/** The resolved file when it is a regular file under root (no traversal, no symlink out). */
async function inside(root: string, candidate: string): Promise<string | undefined> {
  try {
    const real = await realpath(candidate);
    if (real !== root && !real.startsWith(root + sep)) return undefined;
    return (await stat(real)).isFile() ? real : undefined;
  } catch {
    return undefined;
  }
}

async function sendFile(req: IncomingMessage, res: ServerResponse, file: string, status: number): Promise<void> {
  const info = await stat(file);
  const type = TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
  // Next's hashed assets never change; pages must be revalidated.
  const cache = file.includes(`${sep}_next${sep}static${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache';
  res.writeHead(status, { 'content-type': type, 'content-length': info.size, 'cache-control': cache });
  if (req.method === 'HEAD') { res.end(); return; }
  await new Promise<void>((resolve, reject) => {
    createReadStream(file).on('error', reject).pipe(res).on('finish', resolve).on('error', reject);
  });
}

function setCommonHeaders(res: ServerResponse): void {
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('referrer-policy', 'no-referrer');
}

function allow(req: IncomingMessage, methods: string[]): void {
  if (!methods.includes(req.method ?? '')) throw new HttpError(405, `method ${req.method} not allowed here`);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  const tooLarge = () => new HttpError(413, `body too large (at most ${MAX_BODY} bytes)`);
  if (Number(req.headers['content-length']) > MAX_BODY) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) { chunks.push(c); return; }
      req.off('data', onData);
      chunks.length = 0;
      reject(tooLarge());
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Streams rows as CSV with backpressure; the meta goes in headers. */
async function csv(res: ServerResponse, columns: string[], rows: Record<string, unknown>[], meta: Record<string, unknown>): Promise<void> {
  res.writeHead(200, {
    'content-type': 'text/csv; charset=utf-8',
    'content-disposition': 'attachment; filename="netflow.csv"',
    'cache-control': 'no-store',
    'x-netflow-backend': String(meta.backend),
    'x-netflow-elapsed-ms': String(meta.elapsed_ms),
  });
  const write = (line: string) => (res.write(line) ? Promise.resolve() : new Promise<void>((r) => res.once('drain', r)));
  await write(`${columns.join(',')}\r\n`);
  let chunk = '';
  for (const row of rows) {
    chunk += `${columns.map((c) => csvCell(row[c])).join(',')}\r\n`;
    if (chunk.length > 64 * 1024) { await write(chunk); chunk = ''; }
  }
  res.end(chunk);
}

export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  // Quote what CSV needs quoted; prefix what a spreadsheet would run as a formula.
  const safe = /^[=+\-@\t\r]/.test(s) && typeof v === 'string' ? `'${s}` : s;
  return /[",\r\n]/.test(safe) || safe !== s ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function iso(ms: number): string { return new Date(ms).toISOString(); }
