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

export interface Queries<K extends string, C> {
  data: Record<K, FlowResponse> | null;
  /** what the caller said the data is for (the view state of the answered request set) */
  context: C | null;
  error: ApiError | null;
  /** true while a request set is in flight (first load, a change, or a refresh) */
  loading: boolean;
  /** the data shown no longer matches the state (a change is loading) */
  stale: boolean;
  updatedAt: number | null;
  reload(): void;
}

/**
 * Runs a view's requests together whenever they change, and again every
 * `refreshSeconds` after the previous answer (not on a fixed clock, so slow
 * answers never pile up), skipping refreshes while the tab is hidden. The
 * answer comes with the context it was asked for, so a view never reads new
 * settings into old data while a change loads.
 */
export function useQueries<K extends string, C>(spec: { requests: Record<K, Request>; context: C } | null, refreshSeconds: number): Queries<K, C> {
  const key = spec ? JSON.stringify(Object.entries(spec.requests).map(([k, r]) => [k, `${(r as Request).path}?${(r as Request).params}`])) : '';
  const [tick, setTick] = useState(0);
  const [result, setResult] = useState<{ key: string; data: Record<K, FlowResponse> | null; context: C | null; error: ApiError | null; updatedAt: number | null }>({ key: '', data: null, context: null, error: null, updatedAt: null });
  const [loading, setLoading] = useState(false);
  const specRef = useRef(spec);
  specRef.current = spec;

  useEffect(() => {
    const current = specRef.current;
    if (!current) return;
    const abort = new AbortController();
    setLoading(true);
    const entries = Object.entries(current.requests) as [K, Request][];
    Promise.all(entries.map(([, r]) => getFlows(r.path, r.params, abort.signal)))
      .then((answers) => {
        const data = Object.fromEntries(entries.map(([k], i) => [k, answers[i]])) as Record<K, FlowResponse>;
        setResult({ key, data, context: current.context, error: null, updatedAt: Date.now() });
        setLoading(false);
      })
      .catch((err: unknown) => {
        if (abort.signal.aborted) return;
        const e = err instanceof ApiError ? err : new ApiError(0, (err as Error).message);
        setResult((prev) => ({ ...prev, key, error: e }));
        setLoading(false);
      });
    return () => abort.abort();
  }, [key, tick]);

  useEffect(() => {
    if (!refreshSeconds || loading || result.updatedAt === null) return;
    let timer: ReturnType<typeof setTimeout>;
    const due = () => {
      if (document.hidden) document.addEventListener('visibilitychange', due, { once: true });
      else setTick((t) => t + 1);
    };
    timer = setTimeout(due, refreshSeconds * 1000);
    return () => { clearTimeout(timer); document.removeEventListener('visibilitychange', due); };
  }, [refreshSeconds, loading, result.updatedAt]);

  return {
    data: result.data,
    context: result.context,
    error: result.key === key ? result.error : null,
    loading,
    stale: result.key !== key,
    updatedAt: result.updatedAt,
    reload: useCallback(() => setTick((t) => t + 1), []),
  };
}
