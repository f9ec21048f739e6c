// Structured logs for every service. Repeated errors (a broken exporter sends
// the same bad datagram thousands of times a second) are rate limited per key.
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: service, level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime });
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
