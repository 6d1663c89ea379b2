import type { IncomingMessage } from 'node:http';

/**
 * Test controls shared by the Twilio and Secrets Manager emulators.
 *
 * Every request an emulator serves passes through `admit()` once its operation is known:
 * latency is applied, a fault may be chosen, and the outcome is appended to the request log.
 * The log never holds a secret: only the operation, the path (no query string) and the
 * credential's *identifier* (Account SID, API key SID, or AWS access key id).
 */

export type FaultKind = 'server-error' | 'throttle' | 'drop' | 'slow';
export const FAULT_KINDS: readonly FaultKind[] = ['server-error', 'throttle', 'drop', 'slow'];

export interface FaultPlan {
  /** Probability (0..1) that an eligible request gets a fault. */
  rate?: number;
  /** Kinds drawn from when `rate` fires; defaults to every kind. */
  kinds?: readonly FaultKind[];
  /** Scripted faults, consumed one per eligible request before `rate` applies; 'ok' passes. */
  sequence?: readonly (FaultKind | 'ok')[];
  /** Only these operations are eligible (default: all). */
  operations?: readonly string[];
  /** Only mutating (or only read) operations are eligible. */
  mutating?: boolean;
  /** Seed for the pseudo-random choice, so a failing run can be replayed. */
  seed?: number;
  /** How long a 'slow' fault holds the response, in milliseconds. */
  slowMs?: number;
}

export interface RequestLogEntry {
  seq: number;
  atMs: number;
  service: string;
  operation: string;
  method: string;
  path: string;
  /** SID or access key id that authenticated the call; never the secret. */
  credential?: string;
  mutating: boolean;
  status?: number;
  fault?: FaultKind;
  /** The client closed the connection before the answer was sent (a cancelled or timed-out request). */
  abandoned?: boolean;
}

export interface Admission {
  entry: RequestLogEntry;
  fault?: FaultKind;
  slowMs: number;
  /**
   * When an emulator that holds its own answer (`admit(op, { holdsAnswer: true })`) sends it, on the
   * `performance.now()` clock: arrival + latency (+ a slow fault's delay). 0 when admit slept already.
   */
  answerAtMs: number;
}

/** Small deterministic PRNG (mulberry32) so fault runs (and kill points) are replayable from a seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Crash-test hooks. `beforeEffect` runs when a request is admitted, before the service changes any
 * state; returning 'drop' makes the request vanish (no effect, connection destroyed), as if the
 * caller had died before it was sent. `beforeResponse` runs once the effect has happened, when the
 * emulator records the status it is about to send.
 */
export interface EmulatorHooks {
  beforeEffect?: (entry: RequestLogEntry) => 'drop' | void;
  beforeResponse?: (entry: RequestLogEntry) => void;
}

export class EmulatorControls {
  /** Added to every response, in milliseconds. */
  latencyMs = 0;
  /**
   * The latency model of an emulator that holds its own answer (Secrets Manager). True: the work is
   * done when the request arrives and the answer leaves `latencyMs` after the arrival, however long the
   * work took (up to that), as a real service's answer time includes its own processing. False (and
   * always, for the emulators that do not hold their answer): `latencyMs` first, then the work, so the
   * emulator's own time (its CPU, its event loop shared with the other emulators in a test or bench
   * process) is added on top of the latency. The fleet bench measures both (BENCH_LATENCY_MODEL).
   */
  latencyIncludesWork = true;
  hooks: EmulatorHooks = {};
  readonly log: RequestLogEntry[] = [];
  private plan: FaultPlan | undefined;
  private sequence: (FaultKind | 'ok')[] = [];
  private random: () => number = prng(1);
  private seq = 0;

  constructor(private readonly service: string) {}

  setFaults(plan: FaultPlan): void {
    if (plan.rate !== undefined && !(plan.rate >= 0 && plan.rate <= 1)) {
      throw new RangeError(`fault rate must be between 0 and 1, got ${plan.rate}`);
    }
    this.plan = plan;
    this.sequence = [...(plan.sequence ?? [])];
    this.random = prng(plan.seed ?? 1);
  }

  clearFaults(): void {
    this.plan = undefined;
    this.sequence = [];
  }

  /** Forget the request log and faults; latency back to zero. State of the emulated service is untouched. */
  reset(): void {
    this.clearFaults();
    this.latencyMs = 0;
    this.log.length = 0;
  }

  /**
   * Called once per request, when the operation is known. Records it and decides on a fault. Sleeps the
   * latency, unless the caller holds its own answer (`holdsAnswer`) and the latency includes the work:
   * it then waits for `answerAtMs` (`untilAnswer`) once its answer is ready.
   */
  async admit(
    op: {
      operation: string;
      method: string;
      path: string;
      credential?: string;
      mutating: boolean;
    },
    how: { holdsAnswer?: boolean } = {},
  ): Promise<Admission> {
    const arrivedAtMs = performance.now();
    const entry: RequestLogEntry = { seq: ++this.seq, atMs: Date.now(), service: this.service, ...op };
    this.watchStatus(entry);
    this.log.push(entry);
    const dropped = this.hooks.beforeEffect?.(entry) === 'drop';
    const fault = dropped ? 'drop' : this.chooseFault(op.operation, op.mutating);
    if (fault) entry.fault = fault;
    const slowMs = this.plan?.slowMs ?? 1500;
    if (how.holdsAnswer === true && this.latencyIncludesWork) {
      const answerAtMs = arrivedAtMs + this.latencyMs + (fault === 'slow' ? slowMs : 0);
      return { entry, fault, slowMs, answerAtMs };
    }
    if (this.latencyMs > 0) await sleep(this.latencyMs);
    return { entry, fault, slowMs, answerAtMs: 0 };
  }

  /** Emulators set `entry.status` just before answering; that moment is the beforeResponse hook. */
  private watchStatus(entry: RequestLogEntry): void {
    let status: number | undefined;
    Object.defineProperty(entry, 'status', {
      enumerable: true,
      configurable: true,
      get: () => status,
      set: (value: number | undefined) => {
        const first = status === undefined;
        status = value;
        if (first && value !== undefined) this.hooks.beforeResponse?.(entry);
      },
    });
  }

  mutatingCalls(): RequestLogEntry[] {
    return this.log.filter((e) => e.mutating);
  }

  private chooseFault(operation: string, mutating: boolean): FaultKind | undefined {
    const plan = this.plan;
    if (!plan) return undefined;
    if (plan.operations && !plan.operations.includes(operation)) return undefined;
    if (plan.mutating !== undefined && plan.mutating !== mutating) return undefined;
    const scripted = this.sequence.shift();
    if (scripted !== undefined) return scripted === 'ok' ? undefined : scripted;
    if (!plan.rate || this.random() >= plan.rate) return undefined;
    const kinds = plan.kinds?.length ? plan.kinds : FAULT_KINDS;
    return kinds[Math.floor(this.random() * kinds.length)];
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits until an admitted request's answer is due (`Admission.answerAtMs`); no wait, not even a turn of
 * the event loop, when it is due already (no latency), so a test without latency runs as before.
 */
export function untilAnswer(admission: Admission): Promise<void> | undefined {
  const waitMs = admission.answerAtMs - performance.now();
  return waitMs > 0 ? sleep(waitMs) : undefined;
}

/**
 * Acts out an admitted request's fault: a dropped connection, the service's own 5xx or throttling
 * answer (each emulator says what its service sends), or a delay before the request is served. True
 * when the fault answered the request, so the emulator must not.
 */
export async function actOutFault(
  admission: Admission,
  req: IncomingMessage,
  answer: { serverError: () => void; throttle: () => void },
): Promise<boolean> {
  switch (admission.fault) {
    case 'drop':
      req.socket.destroy();
      return true;
    case 'server-error':
      answer.serverError();
      return true;
    case 'throttle':
      answer.throttle();
      return true;
    case 'slow':
      await sleep(admission.slowMs);
      return false;
    default:
      return false;
  }
}
