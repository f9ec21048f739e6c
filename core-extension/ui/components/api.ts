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

export async function getFlows(path: string, params: URLSearchParams, signal: AbortSignal): Promise<FlowResponse> {
  let res: Response;
  try {
    res = await fetch(`${path}?${params}`, { signal, credentials: 'same-origin', headers: { accept: 'application/json' } });
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
