// Export sequence numbers per (exporter, source id): v5 counts flows, v9 counts
// packets. Loss is estimated from forward gaps; a late packet that fills a gap
// takes its share back, and a jump too far either way is a reset (reboot,
// wrap, another process on the same source id), never counted as loss.

export interface SequenceStats {
  /** Datagrams seen. */
  packets: number;
  /** Forward jumps in the sequence. */
  gaps: number;
  /** Estimated units lost (flows for v5, packets for v9). */
  lost: number;
  /** Datagrams that arrived after a later one. */
  reordered: number;
  resets: number;
}

export class SequenceTracker {
  readonly stats: SequenceStats = { packets: 0, gaps: 0, lost: 0, reordered: 0, resets: 0 };
  private started = false;
  private base = 0;
  private expected = 0;

  /**
   * @param window how far back a late datagram may be, and how far forward a gap may be
   *   before it counts as a reset, in sequence units.
   */
  constructor(private readonly window: number, private readonly maxGap: number) {}

  /** A datagram whose sequence number is `seq` and that covers `units` of the sequence. */
  observe(seq: number, units: number): void {
    this.stats.packets++;
    if (!this.started) return this.start(seq, units);
    // Signed distance on the 32-bit circle, so the counter wrapping is a plain step.
    const d = (seq - this.expected) | 0;
    if (d === 0) {
      this.expected = (seq + units) >>> 0;
    } else if (d > 0 && d <= this.maxGap) {
      this.stats.gaps++;
      this.stats.lost += d;
      this.expected = (seq + units) >>> 0;
    } else if (d < 0 && d >= -this.window) {
      this.stats.reordered++;
      // Only datagrams after the first one seen were ever counted as lost.
      if (((seq - this.base) | 0) > 0) this.stats.lost = Math.max(0, this.stats.lost - units);
    } else {
      this.stats.resets++;
      this.start(seq, units);
    }
  }

  /** The exporter restarted: the next datagram starts the sequence afresh. */
  reset(): void {
    this.stats.resets++;
    this.started = false;
  }

  private start(seq: number, units: number): void {
    this.started = true;
    this.base = seq >>> 0;
    this.expected = (seq + units) >>> 0;
  }
}
