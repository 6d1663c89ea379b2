import { afterAll, afterEach, beforeEach, describe, it, vi } from 'vitest';
import { explore, RUNS } from './commands.js';
import { commands, known, setup } from './api-key.model.js';
import type { Invariant, ModelWorld } from './world.js';

/** The properties of the API-key flow: one per invariant, over the world and commands of ./api-key.model.ts. */
describe('model: the API-key flow under kills, faults, late writes, races and a person acting', () => {
  const totals = { runs: 0, kills: 0, faults: 0, lateWrites: 0, checks: 0 };
  beforeEach(() => void vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }));
  afterEach(() => void vi.useRealTimers());
  afterAll(() =>
    console.log(
      `model api-key: ${RUNS} sequences per invariant; ${totals.runs} runs, ${totals.kills} ` +
        `kills, ${totals.faults} faults, ${totals.lateWrites} late writes, ${totals.checks} checks`,
    ),
  );
  const add = (w: ModelWorld) => {
    for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += w.figures[k];
  };

  it.each<[Invariant, string]>([
    ['I1', 'never deletes a key its target did not provably create'],
    ['I2', "deletes a key any AWSCURRENT served only once none has served it for the gate's overlap"],
    ['I3', "never deletes a key another configured target's secret holds"],
    ['I4', 'leaves a working AWSCURRENT after every run without faults'],
    ['I5', 'loses nothing stored'],
  ])(
    '%s: %s',
    async (invariant) => {
      await explore(commands(invariant), setup, add, known(invariant));
    },
    120_000,
  );
});
