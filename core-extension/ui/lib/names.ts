// Names for numbers the API returns as numbers: IP protocols (IANA) and the
// service names of common ports, for labels only. Filters send numbers.

const PROTOCOLS: Record<number, string> = {
  1: 'icmp', 2: 'igmp', 4: 'ipip', 6: 'tcp', 17: 'udp', 41: 'ipv6', 46: 'rsvp', 47: 'gre', 50: 'esp',
  51: 'ah', 58: 'ipv6-icmp', 88: 'eigrp', 89: 'ospf', 103: 'pim', 112: 'vrrp', 115: 'l2tp', 132: 'sctp',
};

const PROTOCOL_NUMBERS: Record<string, number> = Object.fromEntries(
  Object.entries(PROTOCOLS).map(([num, name]) => [name, Number(num)]),
);
PROTOCOL_NUMBERS.icmpv6 = 58;

/** 6 -> "tcp", 253 -> "253" */
export function protocolName(protocol: number): string {
  return PROTOCOLS[protocol] ?? String(protocol);
}

/** "tcp" | "TCP" | "6" -> 6 ; unknown names and out-of-range numbers -> null */
export function protocolNumber(text: string): number | null {
  const t = text.trim().toLowerCase();
  if (/^\d{1,3}$/.test(t)) {
    const n = Number(t);
    return n <= 255 ? n : null;
  }
  return PROTOCOL_NUMBERS[t] ?? null;
}

const SERVICES: Record<number, string> = {
  20: 'ftp-data', 21: 'ftp', 22: 'ssh', 23: 'telnet', 25: 'smtp', 53: 'dns', 67: 'dhcp', 68: 'dhcp',
  69: 'tftp', 80: 'http', 110: 'pop3', 123: 'ntp', 137: 'netbios', 138: 'netbios', 139: 'netbios',
  143: 'imap', 161: 'snmp', 162: 'snmptrap', 179: 'bgp', 389: 'ldap', 443: 'https', 445: 'smb',
  465: 'smtps', 500: 'isakmp', 514: 'syslog', 587: 'submission', 636: 'ldaps', 853: 'dns-tls',
  993: 'imaps', 995: 'pop3s', 1194: 'openvpn', 1433: 'mssql', 1812: 'radius', 2055: 'netflow',
  3306: 'mysql', 3389: 'rdp', 4500: 'ipsec-nat', 5060: 'sip', 5432: 'postgres', 6379: 'redis',
  8080: 'http-alt', 8443: 'https-alt', 9000: 'clickhouse', 9092: 'kafka', 27017: 'mongodb',
};

/** 443 -> "443 https", 40000 -> "40000" */
export function portLabel(port: number): string {
  const name = SERVICES[port];
  return name ? `${port} ${name}` : String(port);
}
