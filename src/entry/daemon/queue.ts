/**
 * The daemon's one lane: one run at a time, one target per run. A tick for a target that is running or
 * already waiting is skipped, so ticks never overlap and never pile up behind a slow run.
 */
export class RunQueue {
  private readonly waiting: string[] = [];
  private current: { target: string; sinceMs: number; done: Promise<void> } | undefined;
  private stopped = false;

  constructor(
    private readonly runOne: (target: string) => Promise<void>,
    private readonly onSkip: (target: string, why: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Asks for a run of each target; a target already running or waiting is skipped (and reported). */
  request(targets: readonly string[]): void {
    if (this.stopped) return;
    for (const target of targets) {
      if (target === this.current?.target) this.onSkip(target, 'its previous run is still in progress');
      else if (this.waiting.includes(target)) this.onSkip(target, 'a run of it is already waiting its turn');
      else this.waiting.push(target);
    }
    this.next();
  }

  inFlight(): { target: string; sinceMs: number } | undefined {
    return this.current && { target: this.current.target, sinceMs: this.current.sinceMs };
  }

  async idle(): Promise<void> {
    while (this.current) await this.current.done;
  }

  /** Starts nothing new; resolves when the run in flight has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.waiting.length = 0;
    await this.idle();
  }

  private next(): void {
    if (this.current || this.stopped) return;
    const target = this.waiting.shift();
    if (target === undefined) return;
    // runOne reports its own failures; a throw here is a bug, and must not stop the lane.
    const done = this.runOne(target)
      .catch(() => undefined)
      .finally(() => {
        this.current = undefined;
        this.next();
      });
    this.current = { target, sinceMs: this.now(), done };
  }
}
