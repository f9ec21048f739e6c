// Who may call /api/netflow: users logging in with a password (scrypt hashes
// in core.json) and getting a session cookie, or machines sending a bearer
// API token (stored as its SHA-256). Nothing here ever logs or returns a
// secret, and a failed login says only that it failed.
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { TokenEntry, UserEntry } from '../config.js';

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));

const N = 16384, R = 8, P = 1, KEYLEN = 32;

/** "scrypt$N$r$p$salt$hash" (base64) of a password, for core.json. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEYLEN, { N, r: R, p: P, maxmem: 64 * 1024 * 1024 });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const want = Buffer.from(hash, 'base64');
  const got = await scrypt(password, Buffer.from(salt, 'base64'), want.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: 256 * 1024 * 1024 });
  return got.length === want.length && timingSafeEqual(got, want);
}

/** "sha256$hex" of an API token: tokens are long random strings, so a fast hash is enough. */
export function hashToken(token: string): string {
  return `sha256$${createHash('sha256').update(token).digest('hex')}`;
}

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export interface Principal { username: string; kind: 'session' | 'token'; expiresAt?: number }

export const SESSION_COOKIE = 'srnf_session';

/** Failed logins allowed per client address per window before 429. */
const MAX_FAILURES = 10;
const FAILURE_WINDOW_MS = 60_000;

export class Auth {
  private readonly users: Map<string, string>;
  private readonly tokens: Map<string, string>;
  /** sha256(session id) -> session; the id itself exists only in the client's cookie. */
  private readonly sessions = new Map<string, { username: string; expiresAt: number }>();
  private readonly failures = new Map<string, { count: number; since: number }>();
  private readonly decoy: Promise<string>;

  constructor(users: UserEntry[], tokens: TokenEntry[], private readonly ttlMs: number, private readonly now: () => number = Date.now) {
    this.users = new Map(users.map((u) => [u.username, u.password_hash]));
    this.tokens = new Map(tokens.map((t) => [t.token_hash, t.name]));
    // Unknown users cost a scrypt too, so timing does not tell which part was wrong.
    this.decoy = hashPassword(randomBytes(16).toString('hex'));
  }

  /** Too many recent failures from this client. */
  throttled(client: string): boolean {
    const f = this.failures.get(client);
    return !!f && this.now() - f.since < FAILURE_WINDOW_MS && f.count >= MAX_FAILURES;
  }

  /** A new session id (for the cookie) when the credentials are right; undefined otherwise. */
  async login(username: string, password: string, client: string): Promise<{ id: string; username: string; expiresAt: number } | undefined> {
    const stored = this.users.get(username);
    const ok = await verifyPassword(password, stored ?? (await this.decoy));
    if (!ok || stored === undefined) {
      this.noteFailure(client);
      return undefined;
    }
    this.failures.delete(client);
    this.sweep();
    const id = randomBytes(32).toString('base64url');
    const expiresAt = this.now() + this.ttlMs;
    this.sessions.set(sessionKey(id), { username, expiresAt });
    return { id, username, expiresAt };
  }

  logout(sessionId: string | undefined): void {
    if (sessionId) this.sessions.delete(sessionKey(sessionId));
  }

  /** The caller of a request: a live session cookie or a known bearer token. */
  principal(cookieHeader: string | undefined, authorization: string | undefined): Principal | undefined {
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (bearer) {
      const name = this.tokens.get(hashToken(bearer[1]!));
      return name === undefined ? undefined : { username: name, kind: 'token' };
    }
    const id = readCookie(cookieHeader, SESSION_COOKIE);
    if (!id) return undefined;
    const s = this.sessions.get(sessionKey(id));
    if (!s) return undefined;
    if (s.expiresAt <= this.now()) { this.sessions.delete(sessionKey(id)); return undefined; }
    return { username: s.username, kind: 'session', expiresAt: s.expiresAt };
  }

  private noteFailure(client: string): void {
    const f = this.failures.get(client);
    if (!f || this.now() - f.since >= FAILURE_WINDOW_MS) this.failures.set(client, { count: 1, since: this.now() });
    else f.count++;
    if (this.failures.size > 10_000) this.failures.clear();
  }

  private sweep(): void {
    const now = this.now();
    for (const [k, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(k);
  }
}

function sessionKey(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
