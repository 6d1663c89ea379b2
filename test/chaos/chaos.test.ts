import { describe, expect, it } from 'vitest';
import { addFigures, campaign, describeFigures, emptyFigures, SCENARIOS, type Scenario } from './harness.js';

/**
 * The seeded chaos test over the real CLI and the emulators (./harness.ts). `npm test` runs a fixed
 * seed of each scenario for a few steps (about a minute on two cores); `npm run chaos` runs long
 * campaigns (scripts/chaos.mjs sets CHAOS_MINUTES, CHAOS_KILLS and CHAOS_SEED).
 */

/** CHAOS_SCENARIOS (comma-separated) runs only those, e.g. to replay one seed of one scenario. */
const ONLY = (process.env.CHAOS_SCENARIOS ?? '').split(',').filter(Boolean);
const RUN = SCENARIOS.filter((s) => ONLY.length === 0 || ONLY.includes(s));
const MINUTES = Number(process.env.CHAOS_MINUTES ?? 0);
const LONG = MINUTES > 0;
const STEPS = Number(process.env.CHAOS_STEPS ?? (LONG ? 40 : 8));
const FIRST_SEED = Number(process.env.CHAOS_SEED ?? 1);
const MAX_KILLS = process.env.CHAOS_KILLS !== undefined ? Number(process.env.CHAOS_KILLS) : undefined;
/** The default run's budget per scenario; a campaign's is its duration shared among the scenarios. */
const BUDGET_MS = LONG ? (MINUTES * 60_000) / RUN.length : 20_000;

describe('chaos: real processes, kills, faults, lost answers and a person acting', () => {
  const totals = emptyFigures();
  it.each<Scenario>(RUN)('%s: no invariant breaks', { timeout: BUDGET_MS + 120_000 }, async (scenario) => {
    const deadlineMs = Date.now() + BUDGET_MS;
    const figures = emptyFigures();
    // A long campaign goes on with the next seed until its time or its kills run out.
    for (let seed = FIRST_SEED; seed === FIRST_SEED || (LONG && Date.now() < deadlineMs); seed++) {
      const kills = MAX_KILLS !== undefined ? Math.ceil(MAX_KILLS / RUN.length) - figures.kills : undefined;
      if (kills !== undefined && kills <= 0) break;
      addFigures(
        figures,
        await campaign(scenario, seed, {
          steps: STEPS,
          deadlineMs,
          ...(kills !== undefined ? { maxKills: kills } : {}),
        }),
      );
    }
    addFigures(totals, figures);
    console.log(`chaos ${scenario} (from seed ${FIRST_SEED}): ${describeFigures(figures)}`);
    console.log(`chaos totals so far: ${describeFigures(totals)}`);
    for (const b of figures.breaks) console.log(`BREAK ${b}`);
    expect(figures.breaks).toEqual([]);
  });
});
