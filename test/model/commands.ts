import fc from 'fast-check';
import type { Runtime } from '../../src/core/runtime.js';
import { rotate } from '../../src/engine/commands.js';
import { RunCtl, type Fault, type FaultKind, type Invariant, type ModelWorld } from './world.js';

/**
 * The commands the model-based tests draw from (fast-check `fc.commands`), shared by the API-key and
 * the Auth Token worlds. The model is empty: every check is made against the world's truth by its
 * oracles (world.ts), after every command; a command that finds a break of the invariant under test
 * throws, and fast-check shrinks the sequence to a minimal one.
 */

export type Model = Record<string, never>;
export type Cmd = fc.AsyncCommand<Model, ModelWorld>;

/**
 * How long the default run explores, and how to lengthen or replay it: `npm test` explores a fixed
 * seed (the same sequences every time, so a failure there is a break, never luck); CHAOS_RUNS
 * lengthens the exploration with a fresh seed each time, CHAOS_SEED replays one (fast-check prints
 * the seed and the shrunk sequence of any failure).
 */
export const RUNS = Number(process.env.CHAOS_RUNS ?? 50);
export const SEED =
  process.env.CHAOS_SEED !== undefined
    ? Number(process.env.CHAOS_SEED)
    : process.env.CHAOS_RUNS === undefined
      ? 19
      : undefined;

const FAULT_KINDS: readonly FaultKind[] = [
  'kill-before',
  'kill-after',
  'lost-answer',
  '5xx',
  'late-write',
  'duplicate',
];
/** Half the runs meet no fault (a person's or a scheduler's ordinary run); the others meet one or two. */
export const faultsArb = (maxAt: number): fc.Arbitrary<Fault[]> =>
  fc.oneof(
    fc.constant([] as Fault[]),
    fc.array(fc.record({ at: fc.nat({ max: maxAt }), kind: fc.constantFrom(...FAULT_KINDS) }), {
      minLength: 1,
      maxLength: 2,
    }),
  );

const describeFaults = (faults: readonly Fault[]) =>
  faults.length === 0 ? 'clean' : faults.map((f) => `${f.kind}@${f.at}`).join(',');

/** Throws when the world recorded a break of `invariant` (the other invariants have their own properties). */
export function assertHolds(world: ModelWorld, invariant: Invariant, after: string, traces: RunCtl[] = []): void {
  const found = world.breaks.filter((b) => b.invariant === invariant);
  if (found.length === 0) return;
  const calls = traces.map((t) => `  ${t.name}: ${t.trace.join(' ')}`).join('\n');
  throw new Error(`${invariant} broken after ${after}: ${found.map((b) => b.what).join('; ')}\n${calls}`);
}

export interface RunSpec {
  /** Target names; empty = every target (a plain `rotate`). */
  targets: string[];
  force: boolean;
  replaceSecondary?: boolean;
  faults: Fault[];
}

const specText = (s: RunSpec) =>
  `rotate${s.targets.length ? ` ${s.targets.join(',')}` : ''}${s.force ? ' --force' : ''}${
    s.replaceSecondary ? ' --replace-secondary' : ''
  } [${describeFaults(s.faults)}]`;

let runCounter = 0;
const body = (world: ModelWorld, spec: RunSpec) => (rt: Runtime) =>
  rotate(world.config, rt, {
    ...(spec.targets.length ? { targets: spec.targets } : {}),
    force: spec.force,
    ...(spec.replaceSecondary ? { replaceSecondary: true } : {}),
  });

/** After runs that met no fault, each target they covered must have a working AWSCURRENT (I4). */
function checkClean(world: ModelWorld, runs: { ctl: RunCtl; spec: RunSpec }[]): void {
  for (const { ctl, spec } of runs) {
    if (ctl.killed || ctl.trace.some((t) => t.includes('!'))) continue;
    world.checkCurrentWorks(spec.targets.length ? spec.targets : world.config.targets.map((t) => t.name));
  }
}

export class RunCommand implements Cmd {
  constructor(
    readonly spec: RunSpec,
    readonly invariant: Invariant,
  ) {}
  check = () => true;
  async run(_m: Model, world: ModelWorld): Promise<void> {
    const ctl = new RunCtl(`run${++runCounter}`, this.spec.faults, false, this.spec.replaceSecondary);
    await world.drive([{ ctl, body: body(world, this.spec) }]);
    checkClean(world, [{ ctl, spec: this.spec }]);
    assertHolds(world, this.invariant, this.toString(), [ctl]);
  }
  toString = () => `Run(${specText(this.spec)})`;
}

export class PairCommand implements Cmd {
  constructor(
    readonly a: RunSpec,
    readonly b: RunSpec,
    readonly order: number[],
    readonly invariant: Invariant,
  ) {}
  check = () => true;
  async run(_m: Model, world: ModelWorld): Promise<void> {
    const n = ++runCounter;
    const runs = [
      { ctl: new RunCtl(`run${n}a`, this.a.faults, true, this.a.replaceSecondary), spec: this.a },
      { ctl: new RunCtl(`run${n}b`, this.b.faults, true, this.b.replaceSecondary), spec: this.b },
    ];
    await world.drive(
      runs.map((r) => ({ ctl: r.ctl, body: body(world, r.spec) })),
      this.order,
    );
    checkClean(world, runs);
    assertHolds(
      world,
      this.invariant,
      this.toString(),
      runs.map((r) => r.ctl),
    );
  }
  toString = () => `Pair(${specText(this.a)} || ${specText(this.b)}; turns ${this.order.join('')})`;
}

export class AdvanceCommand implements Cmd {
  constructor(readonly ms: number) {}
  check = () => true;
  run(_m: Model, world: ModelWorld): Promise<void> {
    world.nowMs += this.ms;
    return Promise.resolve();
  }
  toString = () => `Advance(${this.ms / 1000} s)`;
}

export class LateWritesCommand implements Cmd {
  constructor(readonly invariant: Invariant) {}
  check = () => true;
  async run(_m: Model, world: ModelWorld): Promise<void> {
    await world.deliverLate();
    assertHolds(world, this.invariant, this.toString());
  }
  toString = () => 'DeliverLateWrites()';
}

/** A person's action: `act` does it; whatever the rotator refuses (a UsageError) changes nothing. */
export class PersonCommand implements Cmd {
  constructor(
    readonly label: string,
    readonly act: (world: ModelWorld) => Promise<unknown>,
    readonly invariant: Invariant,
  ) {}
  check = () => true;
  async run(_m: Model, world: ModelWorld): Promise<void> {
    await this.act(world).catch((err: unknown) => {
      if (!(err instanceof Error) || err.name !== 'UsageError') throw err;
    });
    world.observeStore();
    assertHolds(world, this.invariant, this.toString());
  }
  toString = () => this.label;
}

/**
 * The command families a world draws from, less those CHAOS_WITHOUT names (comma-separated, e.g.
 * `CHAOS_WITHOUT=SecretPutReplace`): exploring without a family finds the breaks that a known,
 * easier break of that family would otherwise always hit first.
 */
export function families(list: [string, fc.Arbitrary<Cmd>][]): fc.Arbitrary<Cmd>[] {
  const without = new Set((process.env.CHAOS_WITHOUT ?? '').split(',').filter(Boolean));
  return list.filter(([name]) => !without.has(name)).map(([, arb]) => arb);
}

export const ADVANCES = [30_000, 70_000, 600_000, 3_600_000, 86_400_000, 31 * 86_400_000];

/** Runs `fc.assert` with the suite's budget; the seed and shrunk sequence are in the failure. */
export async function explore(
  cmds: fc.Arbitrary<Iterable<Cmd>>,
  setup: () => Promise<ModelWorld>,
  figures?: (w: ModelWorld) => void,
  /** Sequences always tried first: the minimal counterexamples found so far, kept as regressions. */
  examples: Cmd[][] = [],
): Promise<void> {
  await fc.assert(
    fc.asyncProperty(cmds, async (commands) => {
      const world = await setup();
      try {
        await fc.asyncModelRun(() => ({ model: {}, real: world }), commands);
      } finally {
        figures?.(world);
      }
    }),
    {
      numRuns: RUNS,
      ...(SEED !== undefined ? { seed: SEED } : {}),
      // CHAOS_NO_KNOWN=1 explores without them, to find the breaks the known ones would hide.
      examples: process.env.CHAOS_NO_KNOWN ? [] : examples.map((e) => [e] as [Iterable<Cmd>]),
      verbose: 1,
    },
  );
}
