#!/usr/bin/env node
// `npm run chaos`: a long chaos campaign (test/chaos/chaos.test.ts) and a long model exploration
// (test/model), ending by themselves. Environment (all optional):
//   CHAOS_MINUTES  how long the campaign over real processes runs (default 10), shared by its scenarios
//   CHAOS_KILLS    stop the campaign once this many SIGKILLs have landed (default: no limit but time)
//   CHAOS_SEED     the first seed (each scenario goes on with the next ones); printed with every break
//   CHAOS_STEPS    steps per seed (default 40)
//   CHAOS_SCENARIOS  only these scenarios (comma-separated, e.g. auth-token-file), to replay one
//   CHAOS_RUNS     sequences per invariant in the model exploration (default 2000; 0 skips it)
// Figures (steps, runs, kills, faults, answers lost, person actions, checks, breaks) are printed per
// scenario and in total; the exit code is non-zero when any invariant broke.
import { spawnSync } from 'node:child_process';

const env = {
  ...process.env,
  CHAOS_MINUTES: process.env.CHAOS_MINUTES ?? '10',
  CHAOS_SEED: process.env.CHAOS_SEED ?? String(Math.floor(Math.random() * 1e6)),
};
const minutes = Number(env.CHAOS_MINUTES);
const runs = process.env.CHAOS_RUNS ?? '2000';
console.log(
  `chaos campaign: ${minutes} min from seed ${env.CHAOS_SEED}; model exploration: ${runs} sequences per invariant`,
);
const vitest = (files, extra) =>
  spawnSync('npx', ['vitest', 'run', ...files, '--reporter=verbose', '--silent=false', ...extra], {
    stdio: 'inherit',
    env,
    timeout: (minutes + 30) * 60_000,
  }).status ?? 1;
let failed = vitest(['test/chaos/'], [`--testTimeout=${(minutes + 10) * 60_000}`]) !== 0;
if (runs !== '0') {
  env.CHAOS_RUNS = runs;
  delete env.CHAOS_SEED;
  failed = vitest(['test/model/'], ['--testTimeout=3600000']) !== 0 || failed;
}
process.exit(failed ? 1 : 0);
