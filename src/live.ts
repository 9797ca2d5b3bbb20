/**
 * Wakes live streams in this process as soon as a change commits. Streams also poll the event
 * log, so changes made by other server instances arrive too, just a little later.
 */
export class ChangeSignal {
  private waiters = new Set<() => void>();

  notify(): void {
    const waiting = this.waiters;
    this.waiters = new Set();
    for (const wake of waiting) wake();
  }

  /** Resolves on the next change, after `ms`, or when `abort` fires, whichever is first. */
  wait(ms: number, abort?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      // An abort that already fired sends no event: without this the wait would run its full
      // course, keeping a stream whose client left alive for another poll interval.
      if (abort?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        abort?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
      abort?.addEventListener("abort", done, { once: true });
    });
  }
}
