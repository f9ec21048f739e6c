'use client';
// State in the URL, and the view's API requests with auto-refresh.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { FlowResponse } from '../lib/api-types.js';
import { ApiError, getFlows } from './api.js';

/**
 * The view's state, parsed from the URL (null until mounted: the HTML is
 * prerendered without one). Changes push a history entry, so Back undoes them.
 */
export function useUrlState<S>(parse: (search: string) => S, serialize: (s: S) => string): [S | null, (next: S) => void] {
  const [state, setState] = useState<S | null>(null);
  useEffect(() => {
    const load = () => {
      const s = parse(location.search);
      const canonical = serialize(s);
      // Junk and defaults are dropped from the address bar, so what is shared is what is shown.
      if (canonical !== location.search) history.replaceState(null, '', location.pathname + canonical);
      setState(s);
    };
    load();
    window.addEventListener('popstate', load);
    return () => window.removeEventListener('popstate', load);
  }, [parse, serialize]);
  const update = useCallback((next: S) => {
    const q = serialize(next);
    if (q !== location.search) history.pushState(null, '', location.pathname + q);
    setState(next);
  }, [serialize]);
  return [state, update];
}

export interface Request { path: string; params: URLSearchParams }

export interface Answer<C> {
  body: FlowResponse;
  /** what the caller said this request was for (the view state it was made from) */
  context: C;
  /** the request this answers ("path?query") */
  url: string;
}

export interface Queries<K extends string, C> {
  /** the latest answer to each request, possibly to an older version of it while a change loads */
  answers: Partial<Record<K, Answer<C>>>;
  /** per request: its answer is missing or is for an older version of it */
  stale: Record<K, boolean>;
  error: ApiError | null;
  /** true while any request is in flight (first load, a change, or a refresh) */
  loading: boolean;
  /** when the last round of requests had all been answered */
  updatedAt: number | null;
  reload(): void;
}

const urlOf = (r: Request) => `${r.path}?${r.params}`;

/**
 * Runs a view's requests, each on its own: a change refetches only the
 * requests it alters, and each panel can draw as soon as its own answer is in.
 * Every `refreshSeconds` after the previous round was answered (not on a fixed
 * clock, so slow answers never pile up) all are asked again, skipping
 * refreshes while the tab is hidden. An answer comes with the context it was
 * asked for, so a view never reads new settings into old data.
 */
export function useQueries<K extends string, C>(spec: { requests: Record<K, Request>; context: C } | null, refreshSeconds: number): Queries<K, C> {
  const [tick, setTick] = useState(0);
  const [answers, setAnswers] = useState<Partial<Record<K, Answer<C>>>>({});
  const [errors, setErrors] = useState<Partial<Record<K, ApiError>>>({});
  const [inFlight, setInFlight] = useState(0);
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  const asked = useRef(new Map<K, { url: string; tick: number; abort: AbortController }>());

  const names = spec ? (Object.keys(spec.requests) as K[]) : [];
  const key = spec ? JSON.stringify(names.map((n) => [n, urlOf(spec.requests[n])])) : '';
  const specRef = useRef(spec);
  specRef.current = spec;

  useEffect(() => {
    const current = specRef.current;
    if (!current) return;
    for (const name of Object.keys(current.requests) as K[]) {
      const req = current.requests[name];
      const url = urlOf(req);
      const prev = asked.current.get(name);
      if (prev && prev.url === url && prev.tick === tick) continue;
      prev?.abort.abort();
      const abort = new AbortController();
      asked.current.set(name, { url, tick, abort });
      setInFlight((n) => n + 1);
      getFlows(req.path, req.params, abort.signal).then(
        (body) => {
          setAnswers((a) => ({ ...a, [name]: { body, context: current.context, url } }));
          setErrors((e) => { const { [name]: _, ...rest } = e; return rest as Partial<Record<K, ApiError>>; });
        },
        (err: unknown) => {
          if (abort.signal.aborted) return;
          const e = err instanceof ApiError ? err : new ApiError(0, (err as Error).message);
          setErrors((x) => ({ ...x, [name]: e }));
        },
      ).finally(() => setInFlight((n) => n - 1));
    }
  }, [key, tick]);

  useEffect(() => () => { for (const a of asked.current.values()) a.abort.abort(); asked.current.clear(); }, []);

  const loading = inFlight > 0;
  const failed = Object.keys(errors).length > 0;
  useEffect(() => { if (!loading && !failed && Object.keys(answers).length) setUpdatedAt(Date.now()); }, [loading, failed, answers]);

  useEffect(() => {
    if (!refreshSeconds || loading || updatedAt === null) return;
    const due = () => {
      if (document.hidden) document.addEventListener('visibilitychange', due, { once: true });
      else setTick((t) => t + 1);
    };
    const timer = setTimeout(due, refreshSeconds * 1000);
    return () => { clearTimeout(timer); document.removeEventListener('visibilitychange', due); };
  }, [refreshSeconds, loading, updatedAt]);

  const stale = Object.fromEntries(names.map((n) => [n, answers[n]?.url !== urlOf(spec!.requests[n])])) as Record<K, boolean>;
  const error = names.map((n) => errors[n]).find((e) => e !== undefined) ?? null;
  return { answers, stale, error, loading, updatedAt, reload: useCallback(() => setTick((t) => t + 1), []) };
}
