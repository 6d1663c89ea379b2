import { describe, expect, it } from 'vitest';
import type { FaultPlan } from '../emulators/common/index.js';
import { World, type StoreKind } from '../support/world.js';

/**
 * The Auth Token flow with both emulators failing 20% of requests (5xx, 429/throttling, dropped
 * connections, slow answers). Every run ends done, waiting, busy or failed with a clear message; at
 * every observation a stored token works (the account is never locked out); once the faults stop,
 * the rotation finishes with Twilio's primary stored as AWSCURRENT and no secondary left over.
 */

const FAULTS = (seed: number): FaultPlan => ({
  rate: 0.2,
  seed,
  kinds: ['server-error', 'throttle', 'drop', 'slow'],
  slowMs: 50,
});
const BUDGET_SECONDS = 2;
const CREATION_WINDOW_MS = 2 * BUDGET_SECONDS * 1000 + 5000;

async function noLockOut(world: World, where: string): Promise<void> {
  const current = await world.storedToken('AWSCURRENT');
  const pending = await world.storedToken('AWSPENDING');
  const works = (await world.tokenWorks(current)) || (await world.tokenWorks(pending));
  expect(works, `${where}: AWSCURRENT or AWSPENDING authenticates`).toBe(true);
}

async function faultyRotation(kind: StoreKind, seed: number): Promise<{ runs: number; failures: number }> {
  const world = await World.start(kind);
  try {
    const original = await world.seedToken();
    await world.writeConfig([{ kind: 'auth-token', gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 } }], {
      retry: { attempts: seed % 2 === 0 ? 1 : 3, budgetSeconds: BUDGET_SECONDS, minDelayMs: 5 },
    });
    const rotated = async () =>
      world.twilio.authToken() !== original && (await world.storedToken('AWSCURRENT')) === world.twilio.authToken();
    let runs = 0;
    let failures = 0;
    for (let i = 0; i < 8 && !(await rotated()); i++) {
      world.twilio.controls.setFaults(FAULTS(seed * 100 + i));
      world.sm.controls.setFaults(FAULTS(seed * 100 + i + 50));
      const started = world.twilio.authToken() !== original || (await world.storedToken('AWSPENDING')) !== undefined;
      const run = await world.cli(started ? ['rotate'] : ['rotate', '--force']);
      runs++;
      world.twilio.controls.clearFaults();
      world.sm.controls.clearFaults();
      const where = `${kind} store, seed ${seed}, run ${i + 1}`;
      expect([0, 1], `${where}: exit code; ${run.stdout}${run.stderr}`).toContain(run.code);
      expect(run.stdout + run.stderr, `${where}: no raw stack or undefined in output`).not.toMatch(
        /\n\s+at |undefined/,
      );
      if (run.code === 1) {
        failures++;
        expect(run.stdout + run.stderr, `${where}: a failure names the target and what went wrong`).toMatch(
          /token: (FAILED at [a-z-]+: .+|STUCK)|twilio-key-rotator: .+/,
        );
      }
      await noLockOut(world, where);
      if (run.stdout.includes('being created by another run'))
        await new Promise((resolve) => setTimeout(resolve, CREATION_WINDOW_MS));
    }
    // Faults off: ordinary runs finish the job.
    for (let i = 0; i < 4 && !(await rotated()); i++) {
      const started = world.twilio.authToken() !== original || (await world.storedToken('AWSPENDING')) !== undefined;
      const run = await world.cli(started ? ['rotate'] : ['rotate', '--force']);
      if (run.stdout.includes('being created by another run'))
        await new Promise((resolve) => setTimeout(resolve, CREATION_WINDOW_MS));
    }
    const finish = await world.cli(['rotate']);
    expect(finish.stdout, `${kind} store, seed ${seed}: converges once the faults stop`).toContain('token: done.');
    expect(await rotated()).toBe(true);
    expect(await world.storedToken('AWSPENDING')).toBeUndefined();
    expect(world.twilio.secondaryToken()).toBeUndefined();
    expect(await world.tokenWorks(original)).toBe(false);
    return { runs, failures };
  } finally {
    await world.close();
  }
}

describe.each<StoreKind>(['file', 'aws'])('Auth Token under 20%% injected faults (%s store)', (kind) => {
  it(
    'every run is done, waiting, busy or a clear failure; never a lock-out; it converges',
    { timeout: 120_000 },
    async () => {
      const totals = { runs: 0, failures: 0 };
      for (const seed of [1, 2, 3, 4]) {
        const r = await faultyRotation(kind, seed);
        totals.runs += r.runs;
        totals.failures += r.failures;
      }
      console.log(
        `fault test, Auth Token (${kind} store): 4 seeds, ${totals.runs} runs under faults, ` +
          `${totals.failures} ended in a reported failure`,
      );
    },
  );
});
