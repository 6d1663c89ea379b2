import { sleep } from '../common/index.js';
import type { Secret, SmState } from './state.js';

/**
 * The service side of Lambda rotation (../shared/reference/secrets-manager.md §1).
 *
 * - RotateSecret "configures and starts the asynchronous process of rotating the secret" (RotateSecret
 *   API doc): the API call returns once the value-less AWSPENDING version exists; the steps run after.
 * - The function is invoked synchronously, once per step, createSecret -> setSecret -> testSecret ->
 *   finishSecret, with {Step, SecretId: <secret ARN>, ClientRequestToken} (Lambda developer guide,
 *   "Using AWS Lambda with Secrets Manager"; rotate-secrets_lambda.html). RotationToken is not sent.
 * - "If any rotation step fails, Secrets Manager retries the entire rotation process multiple times"
 *   (DescribeSecret NextRotationDate doc). Count and back-off are undocumented: `maxAttempts` and
 *   `delayMs` are emulator settings with small test defaults. UNCONFIRMED: every attempt restarts at
 *   createSecret with the same token, so the steps' own idempotency checks carry the retry.
 * - RotateImmediately=false runs only testSecret: "This test creates an AWSPENDING version of the
 *   secret and then removes it" (RotateSecret doc). UNCONFIRMED: the test is not retried, and the
 *   version is removed whether the test passed or not.
 */

export const ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

export interface RotationEvent {
  Step: RotationStep;
  /** The secret's full ARN, as Secrets Manager sends it. */
  SecretId: string;
  /** The VersionId of the pending version; the same for every step and every retry of one rotation. */
  ClientRequestToken: string;
}

/** Stands in for a Lambda function: resolve = the invocation succeeded, reject/throw = function error. */
export type RotationFunction = (event: RotationEvent) => Promise<unknown>;

export interface RotationOutcome {
  ok: boolean;
  /** 'rotation' for the four steps, 'test' for the testSecret-only run of RotateImmediately=false. */
  kind: 'rotation' | 'test';
  token: string;
  /** How many times the process was started (1 + retries). */
  attempts: number;
  /** The step of the last attempt that failed, or that a cancel/abandon stopped before. */
  failedStep?: RotationStep;
  error?: string;
}

export interface RotationRetryPolicy {
  /** Attempts in all, the first included. AWS: "multiple times", count undocumented. */
  maxAttempts: number;
  /** Pause between attempts, in milliseconds. AWS: undocumented. */
  delayMs: number;
}

export const DEFAULT_ROTATION_RETRY: RotationRetryPolicy = { maxAttempts: 3, delayMs: 10 };

/** AWS✓ (LocalStack test_rotate_secret_invalid_lambda_arn snapshot): AccessDeniedException, HTTP 400. */
export const CANNOT_INVOKE =
  'Secrets Manager cannot invoke the specified Lambda function. Ensure that the ' +
  'function policy grants access to the principal secretsmanager.amazonaws.com.';

interface Run {
  arn: string;
  name: string;
  token: string;
  kind: RotationOutcome['kind'];
  /** Set by CancelRotateSecret, by a new version that abandons the rotation, or by close(). */
  stop?: string;
  done: boolean;
  promise: Promise<RotationOutcome>;
}

export class RotationEngine {
  private readonly functions = new Map<string, RotationFunction>();
  /** The latest run per secret ARN. */
  private readonly runs = new Map<string, Run>();
  retry: RotationRetryPolicy;

  constructor(
    private readonly state: SmState,
    retry: Partial<RotationRetryPolicy> = {},
  ) {
    this.retry = { ...DEFAULT_ROTATION_RETRY, ...retry };
  }

  register(arn: string, fn: RotationFunction): void {
    this.functions.set(arn, fn);
  }

  unregister(arn: string): void {
    this.functions.delete(arn);
  }

  canInvoke(arn: string): boolean {
    return this.functions.has(arn);
  }

  /** The run still in progress for this secret, if any. */
  active(secretArn: string): Run | undefined {
    const run = this.runs.get(secretArn);
    return run && !run.done ? run : undefined;
  }

  /** Starts a run after the current request has been answered. */
  start(secret: Secret, token: string, kind: RotationOutcome['kind']): void {
    const run = { arn: secret.arn, name: secret.name, token, kind, done: false } as Run;
    run.promise = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.execute(run))
      .then((outcome) => {
        run.done = true;
        return outcome;
      });
    this.runs.set(secret.arn, run);
  }

  /** Stops the secret's run before its next step; a step already running finishes. */
  stop(secretArn: string, reason: string): void {
    const run = this.active(secretArn);
    if (run && run.stop === undefined) run.stop = reason;
  }

  /** The outcome of the latest run for a secret (name or ARN), once it has finished. */
  settled(secretId: string): Promise<RotationOutcome> {
    const arn = this.state.find(secretId)?.arn;
    const run =
      (arn !== undefined ? this.runs.get(arn) : undefined) ??
      [...this.runs.values()].find((r) => r.name === secretId || r.arn === secretId);
    return run ? run.promise : Promise.reject(new Error(`no rotation has been started for ${secretId}`));
  }

  close(): void {
    for (const arn of this.runs.keys()) this.stop(arn, 'the emulator was closed');
  }

  private async execute(run: Run): Promise<RotationOutcome> {
    const steps: readonly RotationStep[] = run.kind === 'test' ? ['testSecret'] : ROTATION_STEPS;
    const maxAttempts = run.kind === 'test' ? 1 : Math.max(1, Math.floor(this.retry.maxAttempts));
    const outcome = (attempts: number, failure?: { failedStep: RotationStep; error: string }): RotationOutcome => ({
      ok: failure === undefined,
      kind: run.kind,
      token: run.token,
      attempts,
      ...failure,
    });
    let failure: { failedStep: RotationStep; error: string } | undefined;
    let attempt = 0;
    while (attempt < maxAttempts) {
      attempt++;
      failure = await this.attempt(run, steps);
      if (!failure || run.stop !== undefined) break;
      if (attempt < maxAttempts) await sleep(this.retry.delayMs);
    }
    const secret = this.state.find(run.arn);
    if (run.kind === 'test' && secret) this.state.endRotationTest(secret, run.token);
    if (!failure && run.kind === 'rotation' && secret) secret.lastRotatedAt = this.state.now();
    return outcome(attempt, failure);
  }

  private async attempt(
    run: Run,
    steps: readonly RotationStep[],
  ): Promise<{ failedStep: RotationStep; error: string } | undefined> {
    for (const step of steps) {
      if (run.stop !== undefined) return { failedStep: step, error: run.stop };
      const secret = this.state.find(run.arn);
      if (!secret) return { failedStep: step, error: 'the secret no longer exists' };
      const fn = secret.rotation ? this.functions.get(secret.rotation.lambdaArn) : undefined;
      try {
        if (!fn) throw new Error(CANNOT_INVOKE);
        await fn({ Step: step, SecretId: run.arn, ClientRequestToken: run.token });
      } catch (err) {
        return { failedStep: step, error: err instanceof Error ? err.message : String(err) };
      }
    }
    return undefined;
  }
}
