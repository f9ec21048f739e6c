// The configuration reference in docs/CONFIGURATION.md is generated from the
// services' convict schemas, so the documentation cannot drift from what the
// services accept (a test compares the two).
import { hostname } from 'node:os';
import type { Schema } from './config.js';

interface Leaf { doc?: string; format?: unknown; default?: unknown; sensitive?: boolean }

function isLeaf(node: unknown): node is Leaf {
  return typeof node === 'object' && node !== null && 'default' in node;
}

function formatOf(format: unknown): string {
  if (Array.isArray(format)) return format.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (typeof format === 'string') return format;
  if (format === String) return 'string';
  if (format === Number) return 'number';
  if (format === Boolean) return 'boolean';
  if (format === Array) return 'list';
  return 'see description';
}

function rows(node: Record<string, unknown>, prefix: string): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(node)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (isLeaf(value)) {
      // A default taken from the machine (the host name) would make the document machine-specific.
      const dflt = value.sensitive ? '(secret)' : value.default === hostname() ? '(this host\'s name)' : `\`${JSON.stringify(value.default)}\``;
      const doc = (value.doc ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
      out.push(`| \`${path}\` | ${formatOf(value.format)} | ${dflt} | ${doc} |`);
    } else if (typeof value === 'object' && value !== null) {
      out.push(...rows(value as Record<string, unknown>, path));
    }
  }
  return out;
}

export interface ConfigFile { title: string; path: string; command: string; schema: Schema<unknown> }

export function configReference(files: ConfigFile[]): string {
  const parts = [
    '# Configuration reference',
    '',
    'Generated from the services\' config schemas by `node scripts/gen-config-docs.mjs`; a test fails when',
    'this file and the schemas disagree. Every file is JSON; unknown keys are errors; an invalid value',
    'stops the service with a message naming the key. Durations take `500ms`, `30s`, `5m`, `2h`, `2d` or',
    'milliseconds.',
  ];
  for (const f of files) {
    parts.push('', `## ${f.title}: \`${f.path}\``, '', `Read by \`${f.command}\` (\`--config PATH\` overrides the path).`, '',
      '| key | format | default | meaning |', '|---|---|---|---|', ...rows(f.schema as Record<string, unknown>, ''));
  }
  return parts.join('\n') + '\n';
}
