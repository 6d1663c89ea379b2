/**
 * Twilio answers 429 (20429) above its concurrent requests per account. This keeps the account's
 * requests under `max` in flight; a 429 halves the limit (never below one), each `limit` answers without
 * one raise it by one up to `max` (AIMD). The retry policy (../retry.ts) still retries the 429 itself.
 */
export class AccountLimiter {
  private limit: number;
  private inFlight = 0;
  private calm = 0;
  private readonly waiting: { go: () => void }[] = [];

  constructor(private readonly max: number) {
    this.limit = max;
  }

  /** The limit now, for tests and logs. */
  get current(): number {
    return this.limit;
  }

  /** Runs `fn` once a slot is free; gives up waiting when `signal` aborts. */
  async run<T>(fn: () => Promise<T>, statusOf: (result: T) => number, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      const result = await fn();
      this.observe(statusOf(result));
      return result;
    } finally {
      this.release();
    }
  }

  private observe(status: number): void {
    if (status === 429) {
      this.limit = Math.max(1, Math.floor(this.limit / 2));
      this.calm = 0;
    } else if (++this.calm >= this.limit && this.limit < this.max) {
      this.limit++;
      this.calm = 0;
    }
  }

  private acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.inFlight < this.limit) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const entry = {
        go: () => {
          signal?.removeEventListener('abort', onAbort);
          this.inFlight++;
          resolve();
        },
      };
      const onAbort = () => {
        const at = this.waiting.indexOf(entry);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
    });
  }

  private release(): void {
    this.inFlight--;
    while (this.inFlight < this.limit && this.waiting.length > 0) this.waiting.shift()!.go();
  }
}
