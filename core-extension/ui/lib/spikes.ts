// Traffic spikes: buckets far above the period's baseline. The rule is robust
// to the spikes themselves (a mean and standard deviation would be dragged up
// by the very outliers being looked for): a bucket is a spike when
//   value > median + k * 1.4826 * MAD
// where MAD is the median absolute deviation (x1.4826 puts it on the scale of
// a standard deviation for normal data). When more than half the buckets are
// equal, MAD is 0; the mean absolute deviation (x1.2533) stands in, as in the
// modified z-score of Iglewicz and Hoaglin. Buckets before the first non-zero
// one are not part of the period (collection had not started).

export const MAD_SCALE = 1.4826;
export const MEAN_AD_SCALE = 1.2533;
/** Fewer buckets than this give no meaningful baseline; nothing is flagged. */
export const MIN_BUCKETS = 5;

export interface SpikeRule {
  k: number;
  /** buckets the baseline was computed over */
  n: number;
  median: number;
  /** the spread used: scaled MAD, or scaled mean absolute deviation when MAD is 0 */
  spread: number;
  method: 'mad' | 'mean-ad' | 'flat' | 'too-few';
  /** values above this are spikes; Infinity when nothing can be flagged */
  threshold: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function spikeRule(values: readonly number[], k: number): SpikeRule {
  const firstActive = values.findIndex((v) => v > 0);
  const period = firstActive < 0 ? [] : values.slice(firstActive);
  const n = period.length;
  if (n < MIN_BUCKETS) return { k, n, median: median(period), spread: NaN, method: 'too-few', threshold: Infinity };
  const med = median(period);
  const deviations = period.map((v) => Math.abs(v - med));
  const mad = median(deviations);
  if (mad > 0) return { k, n, median: med, spread: MAD_SCALE * mad, method: 'mad', threshold: med + k * MAD_SCALE * mad };
  const meanAd = deviations.reduce((a, b) => a + b, 0) / n;
  if (meanAd > 0) return { k, n, median: med, spread: MEAN_AD_SCALE * meanAd, method: 'mean-ad', threshold: med + k * MEAN_AD_SCALE * meanAd };
  return { k, n, median: med, spread: 0, method: 'flat', threshold: Infinity };
}

/** Indexes of the spike buckets under the rule. */
export function findSpikes(values: readonly number[], rule: SpikeRule): number[] {
  const out: number[] = [];
  values.forEach((v, i) => { if (v > rule.threshold) out.push(i); });
  return out;
}

/** The rule in words, with the period's numbers, for the user to see what was flagged and why. */
export function describeRule(rule: SpikeRule, format: (v: number) => string, bucket: string): string {
  switch (rule.method) {
    case 'too-few': return `Spikes need at least ${MIN_BUCKETS} ${bucket}s with traffic to set a baseline; this range has ${rule.n}.`;
    case 'flat': return `Every ${bucket} carries the same traffic (${format(rule.median)}): no spikes.`;
    case 'mad':
      return `Spike: a ${bucket} above median + ${rule.k} × MAD × ${MAD_SCALE} = ${format(rule.threshold)} ` +
        `(median ${format(rule.median)}, scaled MAD ${format(rule.spread)}, over ${rule.n} ${bucket}s).`;
    case 'mean-ad':
      return `Spike: a ${bucket} above median + ${rule.k} × mean abs. deviation × ${MEAN_AD_SCALE} = ${format(rule.threshold)} ` +
        `(median ${format(rule.median)}; MAD is 0 because most ${bucket}s are equal; over ${rule.n} ${bucket}s).`;
  }
}
