// The /api calls the UI makes (notes/api-contract.md). A 401 anywhere sends
// the user to the login page; other failures become an ApiError whose message
// can be shown as it is.
import type { FlowResponse } from '../lib/api-types.js';
import { sessionLost, storeSession, clearSession, type SessionInfo } from './session.js';

export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly parameter?: string) { super(message); }
}

async function errorOf(res: Response): Promise<ApiError> {
  const body = (await res.json().catch(() => null)) as { error?: unknown; parameter?: unknown } | null;
  const message = typeof body?.error === 'string' ? body.error : `the server answered HTTP ${res.status}`;
  return new ApiError(res.status, message, typeof body?.parameter === 'string' ? body.parameter : undefined);
}

const FETCH_OPTIONS: RequestInit = { credentials: 'same-origin', headers: { accept: 'application/json' } };

/** Requests started before React is up, waiting for getFlows to claim them. */
const early = new Map<string, Promise<Response>>();

/**
 * Starts a view's request as soon as its code is loaded, while the page is
 * still hydrating (a few hundred ms on a busy machine): the view's first
 * getFlows for the same URL takes the answer instead of asking again. With
 * `after`, it is sent once that answer is in (or failed), so a heavier
 * request does not share the server's cores with the one drawn first.
 */
export function prefetch(path: string, params: URLSearchParams, after?: Promise<unknown>): Promise<Response> {
  const url = `${path}?${params}`;
  let started = early.get(url);
  if (!started) {
    started = after ? after.catch(() => undefined).then(() => fetch(url, FETCH_OPTIONS)) : fetch(url, FETCH_OPTIONS);
    early.set(url, started);
  }
  return started;
}

export async function getFlows(path: string, params: URLSearchParams, signal: AbortSignal): Promise<FlowResponse> {
  const url = `${path}?${params}`;
  const started = early.get(url);
  early.delete(url);
  let res: Response;
  try {
    res = await (started ?? fetch(url, { ...FETCH_OPTIONS, signal }));
    if (signal.aborted) throw new DOMException('aborted', 'AbortError');
  } catch (err) {
    if (signal.aborted) throw err;
    throw new ApiError(0, 'the network request failed');
  }
  if (res.status === 401) {
    sessionLost();
    throw new ApiError(401, 'session expired');
  }
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as FlowResponse;
}

export async function login(username: string, password: string): Promise<{ ok: true } | { ok: false; message: string }> {
  let res: Response;
  try {
    res = await fetch('/api/login', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ username, password }),
    });
  } catch {
    return { ok: false, message: 'Cannot reach the core service.' };
  }
  if (res.status === 401) return { ok: false, message: 'Wrong username or password.' };
  if (!res.ok) return { ok: false, message: `Sign-in failed: ${(await errorOf(res)).message}.` };
  storeSession((await res.json()) as SessionInfo);
  return { ok: true };
}

export async function logout(): Promise<void> {
  await fetch('/api/logout', { method: 'POST', credentials: 'same-origin' }).catch(() => undefined);
  clearSession();
}

/** The current session, or null when there is none (401). */
export async function currentSession(): Promise<SessionInfo | null> {
  const res = await fetch('/api/session', { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (res.status === 401) return null;
  if (!res.ok) throw await errorOf(res);
  const s = (await res.json()) as SessionInfo;
  storeSession(s);
  return s;
}
