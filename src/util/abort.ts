/**
 * A signal that aborts after `ms` or when `parent` aborts, whichever comes first, and that lets go of
 * its timer and its listener on `parent` when released.
 *
 * `AbortSignal.timeout` keeps its timer (and everything the signal holds) alive until the timeout
 * fires, and `AbortSignal.any` registers a weak reference on every source that is only cleaned after a
 * garbage collection. With a call budget of tens of seconds and thousands of calls per run, that held
 * every finished call's signals until the end of the run; releasing them as each call ends keeps the
 * heap flat. The timeout's reason is the same TimeoutError `AbortSignal.timeout` gives.
 */
export interface TimeoutSignal {
  readonly signal: AbortSignal;
  /** True once the timeout (not the parent) aborted the signal. */
  readonly timedOut: boolean;
  /** Clears the timer and the listener on the parent. Safe to call more than once. */
  release(): void;
}

export function timeoutSignal(ms: number, parent?: AbortSignal): TimeoutSignal {
  const controller = new AbortController();
  let timedOut = false;
  const onParentAbort = () => controller.abort(parent?.reason);
  const timer = setTimeout(() => {
    // Already aborted by the parent (and not yet released): that abort stands, and it was no timeout.
    if (controller.signal.aborted) return;
    timedOut = true;
    controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
  }, ms);
  // Like AbortSignal.timeout: a pending timeout alone does not keep the process alive.
  timer.unref();
  if (parent?.aborted) onParentAbort();
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    release() {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}

/** Waits `ms`, or less when `stop` aborts (the emergency rotation's passes). */
export function sleep(ms: number, stop?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (stop?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      stop?.removeEventListener('abort', done);
      resolve();
    }
    stop?.addEventListener('abort', done, { once: true });
  });
}
