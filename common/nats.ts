// Connecting to NATS the same way from every service: the configured URL, mTLS
// from the security block, reconnect forever, state changes logged.
import { connect, type NatsConnection } from 'nats';
import { loadTls, type SecurityConfig } from './security.js';
import type { Logger } from './log.js';

export type NatsState = 'connected' | 'reconnecting' | 'disconnected' | 'closed';

export interface NatsLink {
  nc: NatsConnection;
  state(): NatsState;
}

/**
 * `waitOnFirstConnect: false` rejects when the first attempt fails, for a
 * caller that retries on its own schedule and must be able to give up (a
 * service stopped before NATS ever came up).
 */
export async function connectNats(url: string, security: SecurityConfig, name: string, log: Logger, opts: { waitOnFirstConnect?: boolean } = {}): Promise<NatsLink> {
  const tls = loadTls(security);
  const servers = url.split(',').map((s) => s.trim()).filter(Boolean);
  const nc = await connect({
    servers,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
    waitOnFirstConnect: opts.waitOnFirstConnect ?? true,
    pingInterval: 10_000,
    ...(tls ? { tls: { cert: tls.cert.toString(), key: tls.key.toString(), ca: tls.ca.toString(), ...(tls.serverName ? { servername: tls.serverName } : {}) } } : {}),
  });
  let state: NatsState = 'connected';
  (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') state = 'disconnected';
      else if (s.type === 'reconnecting') state = 'reconnecting';
      else if (s.type === 'reconnect') state = 'connected';
      else continue;
      log.info({ nats: s.type, server: s.data }, 'nats connection state');
    }
  })().catch(() => undefined);
  nc.closed().then(() => { state = 'closed'; }, () => { state = 'closed'; });
  return { nc, state: () => state };
}
