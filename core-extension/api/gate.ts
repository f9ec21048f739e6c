// Admission of /api/netflow queries: at most `running` at once, at most
// `waiting` more in line (each for at most `waitMs`); anyone past that is
// refused at once with a reason, so a burst of queries cannot pile up without
// bound and pages, logins and metrics are never held behind it. The planner
// then never has to queue a query itself.
export class BusyError extends Error {}

export class QueryGate {
  private active = 0;
  private readonly line: { go: () => void; timer: NodeJS.Timeout }[] = [];

  constructor(private readonly running: number, private readonly waiting: number, private readonly waitMs: number) {}

  /** Resolves to the release function once the query may run; rejects with BusyError when it may not. */
  enter(): Promise<() => void> {
    if (this.active < this.running) { this.active++; return Promise.resolve(this.releaser()); }
    if (this.line.length >= this.waiting) return Promise.reject(this.busy());
    return new Promise((resolve, reject) => {
      const entry = {
        go: () => { clearTimeout(entry.timer); this.active++; resolve(this.releaser()); },
        timer: setTimeout(() => {
          this.line.splice(this.line.indexOf(entry), 1);
          reject(new BusyError(`no query slot came free within ${this.waitMs / 1000} s (max_concurrent_queries ${this.running}); retry shortly`));
        }, this.waitMs),
      };
      this.line.push(entry);
    });
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.active--;
      this.line.shift()?.go();
    };
  }

  private busy(): BusyError {
    return new BusyError(`too many queries at once: ${this.active} running and ${this.line.length} waiting (max_concurrent_queries ${this.running}); retry shortly`);
  }
}
