// A service is a module with an explicit start and stop, so the demo can
// compose several in one process and each package can run one alone.
import type { Logger } from './log.js';

export interface Service {
  readonly name: string;
  start(): Promise<void>;
  /** Flushes what is queued and releases everything start acquired. */
  stop(): Promise<void>;
}

/** Starts services in order, stops them in reverse on SIGINT/SIGTERM; resolves when stopped. */
export async function runUntilSignal(services: Service[], log: Logger): Promise<void> {
  const started: Service[] = [];
  const stopAll = async () => {
    for (const s of started.reverse()) {
      try { await s.stop(); } catch (err) { log.error({ err: (err as Error).message, service: s.name }, 'stop failed'); }
    }
  };
  try {
    for (const s of services) { await s.start(); started.push(s); }
  } catch (err) {
    await stopAll();
    throw err;
  }
  await new Promise<void>((resolve) => {
    const onSignal = (sig: string) => {
      log.info({ signal: sig }, 'stopping');
      process.off('SIGINT', onSignal); process.off('SIGTERM', onSignal);
      stopAll().then(resolve, resolve);
    };
    process.on('SIGINT', onSignal); process.on('SIGTERM', onSignal);
  });
}
