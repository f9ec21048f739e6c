'use client';
// Sign-in with the core-extension's credentials (its config file); back to where the
// user was going afterwards.
import { useEffect, useState, type FormEvent } from 'react';
import { safeReturnPath } from '../lib/url-state.js';
import { login } from './api.js';

const REASONS: Record<string, string> = {
  expired: 'Your session expired. Sign in again to continue.',
  signed_out: 'You are signed out.',
};

export function LoginForm() {
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');

  useEffect(() => {
    const reason = new URLSearchParams(location.search).get('reason');
    setNotice(reason ? REASONS[reason] ?? null : null);
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const r = await login(username, password);
    setBusy(false);
    if (!r.ok) { setError(r.message); setPassword(''); return; }
    location.replace(safeReturnPath(new URLSearchParams(location.search).get('next')));
  };

  return (
    <main className="login" id="main">
      <form className="login-card" onSubmit={submit} aria-labelledby="login-title">
        <div className="brand brand-login"><span className="brand-mark" aria-hidden="true" />ServiceRadar</div>
        <h1 id="login-title">Network Traffic</h1>
        {notice && <p className="notice" role="status">{notice}</p>}
        <label className="field field-block"><span className="field-label">Username</span>
          <input name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required autoFocus />
        </label>
        <label className="field field-block"><span className="field-label">Password</span>
          <input name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        {error && <p className="form-error" role="alert">{error}</p>}
        <button type="submit" className="btn btn-primary btn-block" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
        <p className="muted small">Accounts are configured in the core's config file (/etc/serviceradar/netflow-core.json when installed from the package); the demo writes its login to demo-login.json in its data folder.</p>
      </form>
    </main>
  );
}
