// Who is signed in, as the login answer said (kept in localStorage to name the
// user and to tell an expired session from a first visit). The session itself
// is the HttpOnly cookie; this is only what the UI may show.

export interface SessionInfo { username: string; expires_at: string }

const KEY = 'srnf.session';

export function storedSession(): SessionInfo | null {
  try {
    const s = JSON.parse(localStorage.getItem(KEY) ?? 'null') as SessionInfo | null;
    return s && typeof s.username === 'string' ? s : null;
  } catch {
    return null;
  }
}

export function storeSession(s: SessionInfo): void { localStorage.setItem(KEY, JSON.stringify({ username: s.username, expires_at: s.expires_at })); }

export function clearSession(): void { localStorage.removeItem(KEY); }

export type LoginReason = 'expired' | 'required' | 'signed_out';

let leaving = false;

/**
 * Off to the login page, which brings the user back here afterwards. Only
 * the first call counts: a view's parallel requests all meet the same 401.
 */
export function goToLogin(reason: LoginReason): void {
  if (leaving) return;
  leaving = true;
  const next = location.pathname + location.search;
  clearSession();
  location.assign(`/login/?reason=${reason}&next=${encodeURIComponent(next)}`);
}

/** A 401 from the API: the session ran out (or there never was one). */
export function sessionLost(): void {
  goToLogin(storedSession() ? 'expired' : 'required');
}
