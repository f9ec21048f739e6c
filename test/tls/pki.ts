// Certificates for mTLS tests, made by the product's own scripts/gen-certs.sh:
// the development CA and every component's certificate, and a second,
// unrelated CA whose certificates every listener must refuse.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { check } from '../packaging/build.js';
import { tempDir } from '../helpers/process.js';

export interface Certs {
  dir: string;
  file(name: string): string;
  read(name: string): Buffer;
}

export function genCerts(dir: string): Certs {
  check('bash', ['scripts/gen-certs.sh', dir, '--days', '2']);
  return { dir, file: (n) => join(dir, n), read: (n) => readFileSync(join(dir, n)) };
}

/** The real CA and an impostor CA, each with the full set of certificates. */
export function twoPkis(): { good: Certs; rogue: Certs; remove(): void } {
  const a = tempDir('pki-good');
  const b = tempDir('pki-rogue');
  return { good: genCerts(a.path), rogue: genCerts(b.path), remove: () => { a.remove(); b.remove(); } };
}
