/**
 * A signal that aborts after `ms` or when `parent` does, and lets go of its timer and listener when
 * released. `AbortSignal.timeout` keeps its timer (and all the signal holds) alive until it fires, and
 * `AbortSignal.any`'s weak references wait for a GC: over thousands of calls a run that held every
 * finished call's signals; releasing each as its call ends keeps the heap flat. Same TimeoutError reason.
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
