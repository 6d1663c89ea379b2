import { describe, expect, it } from 'vitest';
import type { FaultPlan } from '../emulators/common/index.js';
import { authenticates, labelledKeys, unreferencedRotatorKeys } from '../support/assertions.js';
import { World, type StoreKind } from '../support/world.js';

/**
 * Both emulators fail 20% of requests (5xx, 429/throttling, dropped connections, slow answers)
 * while `rotate` runs again and again. Every run ends done, waiting, or failed with a clear
 * message; at every observation the current key works and the pending key (if any) exists; once
 * the faults stop, every target converges with nothing left behind.
 */

const FAULTS = (seed: number): FaultPlan => ({
  rate: 0.2,
  seed,
  kinds: ['server-error', 'throttle', 'drop', 'slow'],
  slowMs: 50,
});
const PREFIX = 'rot-app-';

async function observe(world: World, where: string): Promise<void> {
  const { current, pending } = await labelledKeys(world);
  expect(await authenticates(world, current), `${where}: AWSCURRENT authenticates`).toBe(true);
  if (pending) expect(world.liveKeys(), `${where}: the AWSPENDING key exists`).toContain(pending.apiKeySid);
}

async function faultyRotation(
  kind: StoreKind,
  seed: number,
): Promise<{ runs: number; failures: number; faults: number }> {
  const world = await World.start(kind);
  try {
    await world.seedAdmin();
    const original = await world.seedCurrentKey();
    // Even seeds get no retries at all, so faults surface as failures instead of being absorbed.
    await world.writeConfig([{ gate: { minOverlapSeconds: 0 } }], {
      retry: { attempts: seed % 2 === 0 ? 1 : 2, budgetSeconds: 2, minDelayMs: 5 },
    });
    let failures = 0;
    let runs = 0;
    let done = false;
    for (let i = 0; i < 8 && !done; i++) {
      world.twilio.controls.setFaults(FAULTS(seed * 100 + i));
      world.sm.controls.setFaults(FAULTS(seed * 100 + i + 50));
      // --force until a rotation has begun: a run that failed before starting one used up nothing.
      const before = await labelledKeys(world);
      const started = before.pending !== undefined || before.current?.apiKeySid !== original;
      const run = await world.cli(started ? ['rotate'] : ['rotate', '--force']);
      runs++;
      world.twilio.controls.clearFaults();
      world.sm.controls.clearFaults();
      const where = `${kind} store, seed ${seed}, run ${i + 1}`;
      expect([0, 1], `${where}: exit code; ${run.stdout}`).toContain(run.code);
      expect(run.stdout + run.stderr, `${where}: no raw stack or undefined in output`).not.toMatch(
        /\n\s+at |undefined/,
      );
      if (run.code === 1) {
        failures++;
        expect(run.stdout, `${where}: a failure names its step and what went wrong`).toMatch(
          /app: FAILED at [a-z-]+: .+(Fix: |did not verify|failed verification|could not)/,
        );
      }
      await observe(world, where);
      done = run.stdout.includes('app: done.') && !world.liveKeys().includes(original);
    }
    // Faults off: the next runs finish the job.
    for (let i = 0; i < 3 && !done; i++) {
      const { pending, current } = await labelledKeys(world);
      const started = pending !== undefined || current?.apiKeySid !== original;
      done =
        (await world.cli(started ? ['rotate'] : ['rotate', '--force'])).stdout.includes('app: done.') &&
        !world.liveKeys().includes(original);
    }
    expect(done, `${kind} store, seed ${seed}: converges once the faults stop`).toBe(true);
    await observe(world, `${kind} store, seed ${seed}, converged`);
    expect(world.liveKeys()).not.toContain(original);
    expect(await unreferencedRotatorKeys(world, PREFIX)).toEqual([]);
    const faults = [...world.twilio.controls.log, ...world.sm.controls.log].filter((e) => e.fault).length;
    return { runs, failures, faults };
  } finally {
    await world.close();
  }
}

describe.each<StoreKind>(['file', 'aws'])('20%% injected faults (%s store)', (kind) => {
  it('every run is done, waiting or a clear failure; the rules hold; it converges', { timeout: 90_000 }, async () => {
    const totals = { runs: 0, failures: 0, faults: 0 };
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const r = await faultyRotation(kind, seed);
      totals.runs += r.runs;
      totals.failures += r.failures;
      totals.faults += r.faults;
    }
    expect(totals.faults).toBeGreaterThan(0);
    console.log(
      `fault test (${kind} store): 6 seeds, ${totals.runs} runs under faults, ${totals.faults} ` +
        `faults injected, ${totals.failures} runs ended in a reported failure`,
    );
  });
});
