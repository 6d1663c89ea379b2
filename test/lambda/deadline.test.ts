import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freshLambda, type Lambda } from '../support/lambda.js';
import { safetyMarginMs } from '../../src/entry/lambda.js';
import { ConfigError } from '../../src/errors.js';
import { authenticates, labelledKeys, unreferencedRotatorKeys } from '../support/assertions.js';
import { SCHEDULED_EVENT } from '../support/lambda-child.js';
import { AWS_ENV, World } from '../support/world.js';

let handler: Lambda['handler'];

/**
 * The scheduled handler's deadline: one AbortSignal, at the invocation's remaining time less the
 * safety margin (20 s by default), that cuts the HTTP request in flight (Twilio's or Secrets
 * Manager's), not only the retries. A request cut short may have taken effect, like a crash; the
 * next run converges from there.
 */

const MARGIN_MS = 20_000;
/** How long the emulator holds the slow request; the deadline falls well inside it. */
const SLOW_MS = 6_000;
const DEADLINE_IN_MS = 2_500;

let world: World;
beforeEach(async () => {
  world = await World.start('aws');
  await world.seedAdmin();
  Object.assign(process.env, AWS_ENV);
  // Per-request timeouts and the retry budget far beyond the held request: only the deadline can cut it.
  process.env.TWILIO_KEY_ROTATOR_CONFIG = await world.writeConfig([{}], {
    twilio: { baseUrl: world.twilio.url, timeoutSeconds: 60 },
    stores: { aws: { region: 'us-east-1', endpoint: world.sm.url, timeoutSeconds: 60 } },
    retry: { attempts: 4, budgetSeconds: 60, minDelayMs: 5 },
  });
  world.resetLogs();
  ({ handler } = await freshLambda());
});
afterEach(async () => {
  delete process.env.TWILIO_KEY_ROTATOR_CONFIG;
  await world.close();
});

const context = (remainingMs: number) => ({ getRemainingTimeInMillis: () => remainingMs, awsRequestId: randomUUID() });

/** Waits (bounded) until `done` holds: the emulator sees a socket close or ends a held request. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await sleep(50);
  expect(done(), what).toBe(true);
}

describe('the scheduled handler’s deadline', () => {
  it.each([
    ['Twilio', 'CreateKey'],
    ['Secrets Manager', 'CreateSecret'],
  ] as const)(
    'aborts a %s request in flight (%s) at the deadline; the run ends deferred; the next run converges',
    async (service, operation) => {
      const emulator = service === 'Twilio' ? world.twilio : world.sm;
      emulator.controls.setFaults({ operations: [operation], sequence: ['slow'], slowMs: SLOW_MS });
      const started = Date.now();
      const out = await handler({ ...SCHEDULED_EVENT, id: randomUUID() }, context(MARGIN_MS + DEADLINE_IN_MS));
      const elapsed = Date.now() - started;

      expect(out).toEqual({ targets: [{ target: 'app', kind: 'deferred' }] });
      const held = emulator.controls.log.find((e) => e.operation === operation)!;
      // The socket was closed before the emulator answered: the request itself was cancelled...
      await until(() => held.abandoned === true, `${operation} was cut while in flight`);
      // ...so the run ended long before the held answer, and with the whole margin left for Lambda.
      expect(elapsed).toBeLessThan(SLOW_MS);
      expect(world.mutatingCalls()[service === 'Twilio' ? 'twilio' : 'sm']).toBeGreaterThan(0);

      // The cancelled request still took effect, as a real one may; the next invocation converges.
      await until(() => held.status !== undefined, 'the held request finally took effect on the emulator');
      emulator.controls.clearFaults();
      expect(await handler({ ...SCHEDULED_EVENT, id: randomUUID() }, context(60_000))).toEqual({
        targets: [{ target: 'app', kind: 'done' }],
      });
      const { current } = await labelledKeys(world);
      expect(await authenticates(world, current)).toBe(true);
      expect(await unreferencedRotatorKeys(world, 'rot-app-')).toEqual([]);
    },
    30_000,
  );

  it('starts nothing once the deadline has passed, and records no error for it', async () => {
    const out = await handler({ ...SCHEDULED_EVENT, id: randomUUID() }, context(MARGIN_MS - 1));
    expect(out).toEqual({ targets: [{ target: 'app', kind: 'deferred' }] });
    expect(world.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
  });
});

describe('ROTATOR_SAFETY_MARGIN_MS', () => {
  it('defaults to 20 s and takes whole milliseconds up to 15 minutes', () => {
    expect(safetyMarginMs(undefined)).toBe(20_000);
    expect(safetyMarginMs('')).toBe(20_000);
    expect(safetyMarginMs('0')).toBe(0);
    expect(safetyMarginMs(' 45000 ')).toBe(45_000);
    expect(safetyMarginMs('900000')).toBe(900_000);
  });

  it.each(['abc', '-5', '1e3', '2.5', '900001', 'NaN', '20s'])(
    'refuses %j, naming the variable, instead of turning the deadline off',
    (value) => {
      expect(() => safetyMarginMs(value)).toThrow(ConfigError);
      expect(() => safetyMarginMs(value)).toThrow(
        /ROTATOR_SAFETY_MARGIN_MS: must be a whole number of milliseconds from 0 to 900000/,
      );
    },
  );
});
