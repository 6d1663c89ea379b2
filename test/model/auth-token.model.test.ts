import { afterAll, afterEach, beforeEach, describe, it, vi } from 'vitest';
import { explore, RUNS } from './commands.js';
import { commands, known, setup } from './auth-token.model.js';
import type { Invariant, ModelWorld } from './world.js';

/** The properties of the Auth Token flow: one per invariant, over the world and commands of ./auth-token.model.ts. */
describe('model: the Auth Token flow under kills, faults, late writes, races and a person acting', () => {
  const totals = { runs: 0, kills: 0, faults: 0, lateWrites: 0, checks: 0 };
  beforeEach(() => void vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }));
  afterEach(() => void vi.useRealTimers());
  afterAll(() =>
    console.log(
      `model auth-token: ${RUNS} sequences per invariant; ${totals.runs} runs, ${totals.kills} ` +
        `kills, ${totals.faults} faults, ${totals.lateWrites} late writes, ${totals.checks} checks`,
    ),
  );
  const add = (w: ModelWorld) => {
    for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += w.figures[k];
  };

  // I3 (a key another target holds) has no subject here: one API-key target, and the admin copy of
  // the token is refreshed by design. The API-key model checks it with two targets on one account.
  it.each<[Invariant, string]>([
    ['I1', 'never deletes or promotes a secondary its target did not provably create'],
    ['I2', "kills (promotes over) or deletes a token an AWSCURRENT served only after the gate's overlap"],
    ['I4', 'leaves a working AWSCURRENT after every run without faults'],
    ['I5', 'loses nothing stored, and the primary token is always held by some version'],
  ])(
    '%s: %s',
    async (invariant) => {
      await explore(commands(invariant), setup, add, known(invariant));
    },
    120_000,
  );
});
