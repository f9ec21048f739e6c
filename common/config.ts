// Loading a service's JSON config file against its convict schema. Every service
// uses this one path, so an invalid file always stops start-up with the file,
// the key and the reason, and never with a stack trace.
import convict from 'convict';
import { readFileSync } from 'node:fs';
import { maskUrlCredentials } from './redact.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses the PRD's duration notation ("5m", "2d", "500ms") to milliseconds. */
export function parseDuration(text: string): number {
  const m = DURATION.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a duration like 500ms, 30s, 5m, 2h or 2d`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

convict.addFormat({
  name: 'duration-ms',
  validate(value: unknown) {
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return;
    if (typeof value === 'string' && DURATION.test(value.trim())) return;
    throw new Error('must be a duration like 500ms, 30s, 5m, 2h or 2d');
  },
  // Unparsable text is left as it is for validate() to report with its key.
  coerce: (value: unknown) => (typeof value === 'string' && DURATION.test(value.trim()) ? parseDuration(value) : value),
});

convict.addFormat({
  name: 'positive-int',
  validate(value: unknown) {
    if (!Number.isInteger(value) || (value as number) <= 0) throw new Error('must be a positive integer');
  },
  coerce: (value: unknown) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value),
});

convict.addFormat({
  name: 'host-port',
  validate(value: unknown) {
    if (typeof value !== 'string' || !/^(\[[0-9a-fA-F:.]+\]|[^:\s]*):\d{1,5}$/.test(value)) {
      throw new Error('must be host:port (":2055", "0.0.0.0:2055", "[::1]:2055")');
    }
    const port = Number(value.slice(value.lastIndexOf(':') + 1));
    if (port > 65535) throw new Error('port must be 0-65535');
  },
});

convict.addFormat({
  name: 'url',
  validate(value: unknown) {
    if (value === '') return;
    try { new URL(String(value)); } catch { throw new Error('must be a URL'); }
  },
});

convict.addFormat({
  name: 'host-port-or-empty',
  validate(value: unknown) {
    if (value === '') return;
    const m = typeof value === 'string' ? /^(\[[0-9a-fA-F:.]+\]|[^:\s]*):(\d{1,5})$/.exec(value) : null;
    if (!m || Number(m[2]) > 65535) throw new Error('must be host:port (":9184", "127.0.0.1:9184") or "" to disable');
  },
});

convict.addFormat({
  name: 'nats-url',
  validate(value: unknown) {
    const servers = typeof value === 'string' ? value.split(',').map((x) => x.trim()).filter(Boolean) : [];
    if (!servers.length) throw new Error('must name at least one server ("nats://host:4222", comma separated)');
    for (const s of servers) {
      try { new URL(s.includes('://') ? s : `nats://${s}`); } catch { throw new Error(`"${s}" is not a URL`); }
    }
  },
});

// The PRD's example says tcp://localhost:9000; we speak HTTP, so say which URL to use instead.
convict.addFormat({
  name: 'clickhouse-url',
  validate(value: unknown) {
    if (value === '') return;
    let u: URL;
    try { u = new URL(String(value)); } catch { throw new Error('must be an http(s) URL such as http://localhost:8123, or "" for embedded chDB'); }
    if (u.protocol === 'tcp:' || u.protocol === 'clickhouse:') throw new Error(`the native protocol (${u.protocol}//, port 9000) is not supported: use the HTTP interface, e.g. http://${u.hostname || 'localhost'}:8123`);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('must be an http:// or https:// URL, or "" for embedded chDB');
    if (u.username || u.password) throw new Error('must not carry credentials: use clickhouse_user and clickhouse_password');
  },
});

/** A format for an integer setting with limits. */
export function bounded(min: number, max: number): (value: unknown) => void {
  return (value: unknown) => {
    if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) throw new Error(`must be an integer from ${min} to ${max}`);
  };
}

export type Schema<T> = convict.Schema<T>;

/**
 * Reads `path` (when it exists or is required) and validates it strictly against
 * `schema`: unknown keys are errors too, because a misspelt key silently
 * ignored is a misconfigured router collector nobody notices.
 */
export function loadConfig<T>(schema: convict.Schema<T>, path: string | undefined, opts: { required?: boolean; overrides?: Partial<T> } = {}): T {
  const conf = convict<T>(schema);
  if (path) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || opts.required) {
        throw new ConfigError(`config ${path}: cannot read: ${(err as Error).message}`);
      }
      text = '';
    }
    if (text) {
      let parsed: unknown;
      try { parsed = JSON.parse(text); } catch (err) {
        throw new ConfigError(`config ${path}: not valid JSON: ${(err as Error).message}`);
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new ConfigError(`config ${path}: must be a JSON object`);
      }
      conf.load(parsed as object);
    }
  }
  if (opts.overrides) conf.load(opts.overrides as object);
  try {
    conf.validate({ allowed: 'strict' });
  } catch (err) {
    const where = path ?? 'defaults';
    // convict quotes the bad value: a URL in it may carry credentials.
    throw new ConfigError(`config ${where}: ${maskUrlCredentials((err as Error).message).split('\n').join('; ')}`);
  }
  return conf.getProperties();
}
