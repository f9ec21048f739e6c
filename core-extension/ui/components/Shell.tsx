'use client';
// The frame around both views: product name, the two views, who is signed in.
import { useEffect, useState, type ReactNode } from 'react';
import { currentSession, logout } from './api.js';
import { goToLogin, sessionLost, storedSession } from './session.js';

export function Shell({ view, carry, children }: { view: 'realtime' | 'historical'; carry: string; children: ReactNode }) {
  const [user, setUser] = useState<string | null>(null);

  useEffect(() => {
    setUser(storedSession()?.username ?? null);
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Confirms the session in the background (the data requests do not wait
    // for it) and checks again when it is due to run out, so a view with no
    // auto-refresh still returns to the login page on time.
    const check = () => currentSession().then((s) => {
      if (!s) { sessionLost(); return; }
      setUser(s.username);
      const left = Date.parse(s.expires_at) - Date.now();
      if (Number.isFinite(left)) timer = setTimeout(check, Math.min(Math.max(left + 1000, 5000), 2 ** 31 - 1));
    }).catch(() => undefined);
    check();
    return () => clearTimeout(timer);
  }, []);

  const signOut = async () => { await logout(); goToLogin('signed_out'); };

  return (
    <div className="app">
      <a className="skip" href="#main">Skip to content</a>
      <header className="topbar">
        <div className="brand"><span className="brand-mark" aria-hidden="true" />ServiceRadar <span className="brand-sep">/</span> <span className="brand-text">Network Traffic</span></div>
        <nav aria-label="Views" className="tabs">
          <a href={`/${carry}`} className={view === 'realtime' ? 'tab active' : 'tab'} aria-current={view === 'realtime' ? 'page' : undefined}>Real-Time</a>
          <a href={`/historical/${carry}`} className={view === 'historical' ? 'tab active' : 'tab'} aria-current={view === 'historical' ? 'page' : undefined}>Historical</a>
        </nav>
        <div className="user">
          {user && <span className="user-name" title="Signed in">{user}</span>}
          <button type="button" className="btn btn-ghost" onClick={signOut}>Sign out</button>
        </div>
      </header>
      {children}
    </div>
  );
}
