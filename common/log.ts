// Structured logs for every service. Repeated errors (a broken exporter sends
// the same bad datagram thousands of times a second) are rate limited per key.
import pino from 'pino';
import { maskUrlCredentials } from './redact.js';

export type Logger = pino.Logger;

export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name: service, level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime,
    // Every argument of every log call, so no call site (or library error message) can forget it.
    hooks: { logMethod(args, method) { method.apply(this, args.map((a) => scrub(a, 0)) as Parameters<typeof method>); } },
  });
}

function scrub(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return maskUrlCredentials(v);
  if (depth > 4 || v === null || typeof v !== 'object') return v;
  if (v instanceof Error) {
    // A copy of the same class, so pino still serializes it as the error it is.
    const copy = Object.assign(Object.create(Object.getPrototypeOf(v) as object) as Error, v);
    copy.message = maskUrlCredentials(v.message);
    copy.stack = maskUrlCredentials(v.stack ?? '');
    return copy;
  }
  if (Array.isArray(v)) return v.map((x) => scrub(x, depth + 1));
  if (Object.getPrototypeOf(v) !== Object.prototype) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrub(x, depth + 1)]));
}

/** Calls `emit` at most once per `intervalMs` for each key, passing how many calls were suppressed. */
export function rateLimited(intervalMs: number): (key: string, emit: (suppressed: number) => void) => void {
  const last = new Map<string, { at: number; suppressed: number }>();
  return (key, emit) => {
    const now = Date.now();
    const entry = last.get(key);
    if (entry && now - entry.at < intervalMs) { entry.suppressed++; return; }
    if (last.size > 10_000) last.clear();
    last.set(key, { at: now, suppressed: 0 });
    emit(entry?.suppressed ?? 0);
  };
}
