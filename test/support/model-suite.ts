import { afterAll, afterEach, beforeEach, describe, it, vi } from 'vitest';
import { explore, RUNS } from '../model/commands.js';
import type { Invariant, ModelWorld } from '../model/world.js';

/** A kind's model: its world, and the commands and known breaks per invariant (test/model/<kind>.model.ts). */
export interface KindModel {
  setup(): Promise<ModelWorld>;
  commands(invariant: Invariant): Parameters<typeof explore>[0];
  known(invariant: Invariant): Parameters<typeof explore>[3];
}

/**
 * One property per invariant over a kind's model, under fake timers, with the exploration's totals
 * printed at the end (runs, kills, faults, late writes, checks).
 */
export function modelSuite(title: string, label: string, model: KindModel, cases: [Invariant, string][]): void {
  describe(title, () => {
    const totals = { runs: 0, kills: 0, faults: 0, lateWrites: 0, checks: 0 };
    beforeEach(() => void vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }));
    afterEach(() => void vi.useRealTimers());
    afterAll(() =>
      console.log(
        `model ${label}: ${RUNS} sequences per invariant; ${totals.runs} runs, ${totals.kills} ` +
          `kills, ${totals.faults} faults, ${totals.lateWrites} late writes, ${totals.checks} checks`,
      ),
    );
    const add = (w: ModelWorld) => {
      for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += w.figures[k];
    };
    it.each<[Invariant, string]>(cases)(
      '%s: %s',
      async (invariant) => {
        await explore(model.commands(invariant), () => model.setup(), add, model.known(invariant));
      },
      120_000,
    );
  });
}
