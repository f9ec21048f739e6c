// Human-readable values with SI units, as network tools print them:
// rates in bits per second (Kb/s, Mb/s, Gb/s), volumes in bytes (KB, MB, GB),
// counts with K/M/G. Decimal prefixes (1 K = 1000) throughout, like link speeds.

const PREFIXES = ['', 'K', 'M', 'G', 'T', 'P', 'E'];

/** Splits a value into a mantissa of 3 significant digits and an SI prefix. */
export function siParts(value: number): { mantissa: string; prefix: string } {
  if (!Number.isFinite(value)) return { mantissa: '–', prefix: '' };
  const sign = value < 0 ? '-' : '';
  let v = Math.abs(value);
  let i = 0;
  while (v >= 1000 && i < PREFIXES.length - 1) { v /= 1000; i++; }
  // Rounding can carry into the next prefix: 999.7 K shows as 1.00 M, not 1000 K.
  if (Number(v.toPrecision(3)) >= 1000 && i < PREFIXES.length - 1) { v /= 1000; i++; }
  const mantissa = i === 0 && Number.isInteger(v) ? String(v) : v === 0 ? '0' : trimPrecision(v);
  return { mantissa: sign + mantissa, prefix: PREFIXES[i] };
}

function trimPrecision(v: number): string {
  // 3 significant digits, but never exponent notation for tiny rates (0.0012 -> "0.00120" style is noise).
  if (v < 0.01) return v.toFixed(3).replace(/0+$/, '').replace(/\.$/, '') || '0';
  return v.toPrecision(3);
}

function si(value: number, unit: string, space = ' '): string {
  const { mantissa, prefix } = siParts(value);
  return `${mantissa}${space}${prefix}${unit}`;
}

/** 1234567 -> "1.23 Mb/s" */
export function formatBitRate(bitsPerSecond: number): string { return si(bitsPerSecond, 'b/s'); }

/** 1234 -> "1.23 KB" */
export function formatBytes(bytes: number): string { return si(bytes, 'B'); }

/** 1234567 -> "1.23M" (packets, flows) */
export function formatCount(count: number): string { return si(count, '', ''); }

/** 1234 -> "1.23K pkt/s" */
export function formatPacketRate(packetsPerSecond: number): string { return `${formatCount(packetsPerSecond)} pkt/s`; }

/** 0.1234 -> "12.3%" ; shares under 0.1% say so rather than rounding to zero. */
export function formatShare(fraction: number): string {
  if (!Number.isFinite(fraction)) return '–';
  const pct = fraction * 100;
  if (pct > 0 && pct < 0.1) return '<0.1%';
  return `${pct >= 10 ? pct.toFixed(1) : pct.toFixed(2)}%`;
}

/** Integer with thousands separators, for exact values in tooltips and titles. */
export function formatExact(value: number): string {
  return Math.round(value).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export type Metric = 'bytes' | 'packets' | 'flows' | 'bps' | 'pps';

/** The formatter matching an API metric. */
export function formatMetric(metric: Metric, value: number): string {
  switch (metric) {
    case 'bytes': return formatBytes(value);
    case 'packets': return `${formatCount(value)} pkts`;
    case 'flows': return `${formatCount(value)} flows`;
    case 'bps': return formatBitRate(value);
    case 'pps': return formatPacketRate(value);
  }
}

/** Shorter labels for chart axes: "1.2G" style without the unit noise on every tick. */
export function formatAxis(metric: Metric, value: number): string {
  if (value === 0) return '0';
  const { mantissa, prefix } = siParts(value);
  const m = String(Number(mantissa));
  switch (metric) {
    case 'bytes': return `${m} ${prefix}B`;
    case 'bps': return `${m} ${prefix}b/s`;
    default: return `${m}${prefix}`;
  }
}
