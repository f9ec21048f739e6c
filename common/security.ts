// The ServiceRadar `security` block every service config carries, and the TLS
// material it names, turned into options for NATS, gRPC and HTTPS.
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Schema } from './config.js';

export interface SecurityConfig {
  mode: 'none' | 'mtls';
  cert_dir: string;
  server_name: string;
  role: string;
  tls: { cert_file: string; key_file: string; ca_file: string };
}

export function securitySchema(defaults: { role: string; cert_file: string; key_file: string }): Schema<SecurityConfig> {
  return {
    mode: { doc: 'none or mtls', format: ['none', 'mtls'], default: 'none' },
    cert_dir: { doc: 'folder the tls file names are relative to', format: String, default: '/etc/serviceradar/certs' },
    server_name: { doc: 'name expected in the peer certificate', format: String, default: '' },
    role: { doc: 'role of this service (informational)', format: String, default: defaults.role },
    tls: {
      cert_file: { doc: 'this service certificate (PEM)', format: String, default: defaults.cert_file },
      key_file: { doc: 'this service private key (PEM)', format: String, default: defaults.key_file },
      ca_file: { doc: 'CA bundle that signs the peers (PEM)', format: String, default: 'root.pem' },
    },
  };
}

export interface TlsMaterial { cert: Buffer; key: Buffer; ca: Buffer; serverName: string }

/** Reads the PEM files of an mtls block; undefined when mode is none. */
export function loadTls(sec: SecurityConfig): TlsMaterial | undefined {
  if (sec.mode !== 'mtls') return undefined;
  const path = (f: string) => (isAbsolute(f) ? f : join(sec.cert_dir, f));
  const read = (key: string, f: string) => {
    try { return readFileSync(path(f)); } catch (err) {
      throw new Error(`security.tls.${key}: cannot read ${path(f)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  return {
    cert: read('cert_file', sec.tls.cert_file),
    key: read('key_file', sec.tls.key_file),
    ca: read('ca_file', sec.tls.ca_file),
    serverName: sec.server_name,
  };
}
