// Traffic filters as the user states them: one entry per key, alternatives
// within a key ORed ("tcp|udp"), keys ANDed. Values are validated here so a
// typo is caught before a request is made; the API validates again.
import { protocolName, protocolNumber } from './names.js';

export type FilterKind = 'ip' | 'port' | 'protocol' | 'index' | 'asn';

export interface FilterKeySpec { key: string; label: string; kind: FilterKind; hint: string }

/** Every filter key the API accepts, in the order the UI lists them. */
export const FILTER_KEYS: readonly FilterKeySpec[] = [
  { key: 'ip', label: 'IP (either side)', kind: 'ip', hint: '10.0.0.5 or 10.0.0.0/8' },
  { key: 'src_ip', label: 'Source IP', kind: 'ip', hint: '192.168.1.0/24' },
  { key: 'dst_ip', label: 'Destination IP', kind: 'ip', hint: '2001:db8::/32' },
  { key: 'port', label: 'Port (either side)', kind: 'port', hint: '443' },
  { key: 'src_port', label: 'Source port', kind: 'port', hint: '53' },
  { key: 'dst_port', label: 'Destination port', kind: 'port', hint: '443|8443' },
  { key: 'protocol', label: 'Protocol', kind: 'protocol', hint: 'tcp|udp or 47' },
  { key: 'exporter', label: 'Exporter', kind: 'ip', hint: 'router address' },
  { key: 'input_if', label: 'Input interface', kind: 'index', hint: 'SNMP ifIndex' },
  { key: 'output_if', label: 'Output interface', kind: 'index', hint: 'SNMP ifIndex' },
  { key: 'src_as', label: 'Source AS', kind: 'asn', hint: '64512' },
  { key: 'dst_as', label: 'Destination AS', kind: 'asn', hint: 'AS15169' },
];

export interface Filter { key: string; values: string[] }

export function filterSpec(key: string): FilterKeySpec | undefined {
  return FILTER_KEYS.find((k) => k.key === key);
}

/** A valid IPv4/IPv6 address, optionally with a /prefix length. */
export function isIpOrCidr(text: string): boolean {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const prefix = slash < 0 ? null : text.slice(slash + 1);
  const v4 = isIPv4(addr);
  if (!v4 && !isIPv6(addr)) return false;
  if (prefix === null) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (v4 ? 32 : 128);
}

export function isIPv4(text: string): boolean {
  const parts = text.split('.');
  // No leading zeros: "010" is octal to some parsers and decimal to others.
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

export function isIPv6(text: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return false;
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const all = [...head, ...tail];
  // An embedded IPv4 address (::ffff:10.0.0.1) may only be last and counts as two groups.
  let width = 0;
  for (let i = 0; i < all.length; i++) {
    const g = all[i];
    if (g.includes('.')) {
      if (i !== all.length - 1 || !isIPv4(g)) return false;
      width += 2;
    } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) {
      width += 1;
    } else {
      return false;
    }
  }
  return halves.length === 2 ? width < 8 : width === 8;
}

/**
 * Parses what the user typed for one key ("tcp, udp" or "443|8443") into
 * canonical values, or says what is wrong. Alternatives may be separated by
 * "|" or ",". Protocols are kept as names when they have one ("tcp").
 */
export function parseFilterInput(key: string, text: string): { values: string[] } | { error: string } {
  const spec = filterSpec(key);
  if (!spec) return { error: `unknown filter "${key}"` };
  const raw = text.split(/[|,]/).map((s) => s.trim()).filter((s) => s !== '');
  if (raw.length === 0) return { error: `${spec.label}: enter a value (${spec.hint})` };
  const values: string[] = [];
  for (const r of raw) {
    const v = canonicalValue(spec.kind, r);
    if (v === null) return { error: `${spec.label}: "${r}" is not ${KIND_NAMES[spec.kind]}` };
    if (!values.includes(v)) values.push(v);
  }
  return { values };
}

const KIND_NAMES: Record<FilterKind, string> = {
  ip: 'an IP address or CIDR',
  port: 'a port (0-65535)',
  protocol: 'a protocol name or number (0-255)',
  index: 'an interface index (0-4294967295)',
  asn: 'an AS number (0-4294967295)',
};

function canonicalValue(kind: FilterKind, v: string): string | null {
  switch (kind) {
    case 'ip': return isIpOrCidr(v) ? v.toLowerCase() : null;
    case 'port': return /^\d{1,5}$/.test(v) && Number(v) <= 65535 ? String(Number(v)) : null;
    case 'index': return /^\d{1,10}$/.test(v) && Number(v) <= 4294967295 ? String(Number(v)) : null;
    case 'asn': {
      const digits = v.replace(/^as/i, '');
      return /^\d{1,10}$/.test(digits) && Number(digits) <= 4294967295 ? String(Number(digits)) : null;
    }
    case 'protocol': {
      const n = protocolNumber(v);
      return n === null ? null : protocolName(n);
    }
  }
}

/**
 * Adds a value to a key's alternatives (a click on a talker, a port, a
 * series). The value is canonicalised like typed input; one that is not valid
 * for the key leaves the filters as they are.
 */
export function addFilterValue(filters: Filter[], key: string, raw: string): Filter[] {
  const spec = filterSpec(key);
  const value = spec ? canonicalValue(spec.kind, raw.trim()) : null;
  if (value === null) return filters;
  const existing = filters.find((f) => f.key === key);
  if (!existing) return sortFilters([...filters, { key, values: [value] }]);
  if (existing.values.includes(value)) return filters;
  return filters.map((f) => (f === existing ? { key, values: [...f.values, value] } : f));
}

export function removeFilter(filters: Filter[], key: string): Filter[] {
  return filters.filter((f) => f.key !== key);
}

/** Replaces (or with an empty list, removes) the values of one key. */
export function setFilter(filters: Filter[], key: string, values: string[]): Filter[] {
  const rest = removeFilter(filters, key);
  return values.length ? sortFilters([...rest, { key, values }]) : rest;
}

function sortFilters(filters: Filter[]): Filter[] {
  const rank = (k: string) => FILTER_KEYS.findIndex((s) => s.key === k);
  return [...filters].sort((a, b) => rank(a.key) - rank(b.key));
}

/** The API's `filter` parameter: "src_ip=10.0.0.0/8,protocol=6|17". Protocols go as numbers. */
export function filtersToApi(filters: Filter[]): string {
  return filters
    .map((f) => {
      const kind = filterSpec(f.key)?.kind;
      const values = kind === 'protocol' ? f.values.map((v) => String(protocolNumber(v) ?? v)) : f.values;
      return `${f.key}=${values.join('|')}`;
    })
    .join(',');
}
