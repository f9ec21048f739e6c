// A throwaway PKI made with openssl for mTLS tests: a CA, a server and a
// client certificate it signs, and a client certificate from another CA.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/process.js';

export interface Pki {
  dir: string;
  file(name: string): string;
  read(name: string): Buffer;
  remove(): void;
}

function openssl(cwd: string, args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function issue(cwd: string, name: string, cn: string, ca: string, ext: string): void {
  openssl(cwd, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
  writeFileSync(join(cwd, `${name}.ext`), ext);
  openssl(cwd, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}-key.pem`, '-CAcreateserial', '-days', '2', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.pem`]);
}

/** root.pem, server.pem (+ -key, for localhost and 127.0.0.1), client.pem, rogue-client.pem (other CA). */
export function makePki(): Pki {
  const dir = tempDir('pki');
  const cwd = dir.path;
  for (const ca of ['root', 'rogue-root']) {
    openssl(cwd, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${ca}-key.pem`, '-out', `${ca}.pem`, '-days', '2', '-subj', `/CN=${ca} test CA`]);
  }
  issue(cwd, 'server', 'localhost', 'root', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
  issue(cwd, 'client', 'agent', 'root', 'extendedKeyUsage=clientAuth\n');
  issue(cwd, 'rogue-client', 'agent', 'rogue-root', 'extendedKeyUsage=clientAuth\n');
  return { dir: cwd, file: (n) => join(cwd, n), read: (n) => readFileSync(join(cwd, n)), remove: dir.remove };
}
