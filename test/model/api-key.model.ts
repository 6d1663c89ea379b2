import fc from 'fast-check';
import { audit } from '../../src/engine/audit.js';
import { confirm, rotate } from '../../src/engine/commands.js';
import { putSecret } from '../../src/engine/secret-put.js';
import {
  ADVANCES,
  AdvanceCommand,
  families,
  faultsArb,
  LateWritesCommand,
  PairCommand,
  PersonCommand,
  RunCommand,
  type Cmd,
  type RunSpec,
} from './commands.js';
import { AC, CURRENT, credOf, ModelWorld, PREVIOUS, type Invariant } from './world.js';

/**
 * Model-based exploration of the API-key flow over in-memory fakes: two targets on one account
 * (app1, app2), runs of the rotator (alone, or two interleaved call by call), kills and faults at any
 * call, late store writes, and a person using the documented commands (secret put --replace, confirm,
 * audit --cleanup) and the Console (create or delete a key, move AWSCURRENT back). Each invariant has
 * its own property so each one's counterexample is shrunk on its own. CHAOS_RUNS and CHAOS_SEED
 * lengthen or replay the exploration.
 */

const TARGETS = ['app1', 'app2'];

export async function setup(): Promise<ModelWorld> {
  const world = new ModelWorld({
    targets: TARGETS.map((name) => ({
      name,
      accountSid: AC,
      keyType: 'standard',
      friendlyNamePrefix: `${name}-`,
      maxAgeDays: 30,
      secret: { store: 'file', secretId: `twilio/${name}` },
      admin: { store: 'file', secretId: 'twilio/admin' },
      gate: { minOverlapSeconds: 3600, maxWaitSeconds: 7 * 86400 },
    })),
  });
  await world.store.create(
    'twilio/admin',
    'a'.repeat(32),
    JSON.stringify({ accountSid: AC, authToken: 'f'.repeat(32) }),
  );
  world.addKey('hand-made by a person', 'person');
  world.addKey('Studio API Key', 'person');
  world.observeStore();
  // Both targets start with a current key, made by a run without faults.
  await rotate(world.config, world.personRuntime('setup'));
  world.observeStore();
  // A day later: the keys are past the orphan grace, not yet due.
  world.nowMs += 86_400_000;
  return world;
}

const targetArb = fc.constantFrom(...TARGETS);
const specArb: fc.Arbitrary<RunSpec> = fc.record({
  targets: fc.oneof(
    fc.constant([] as string[]),
    targetArb.map((t) => [t]),
  ),
  force: fc.boolean(),
  faults: faultsArb(30),
});

const currentValue = (w: ModelWorld, name: string) =>
  w.table[`twilio/${name}`]?.versions.find((v) => v.stages.includes(CURRENT))?.value;

const putReplace = (name: string, source: 'console-key' | 'copy-other', invariant: Invariant) =>
  new PersonCommand(
    `SecretPutReplace(${name}, ${source})`,
    async (w) => {
      const other = TARGETS.find((t) => t !== name)!;
      let value = currentValue(w, other);
      if (source === 'console-key' || value === undefined) {
        const key = w.addKey('made in the Console for a hand rotation', 'person');
        value = JSON.stringify({ accountSid: AC, apiKeySid: key.sid, apiKeySecret: key.secret });
      }
      await putSecret(w.config, w.personRuntime(), { secretId: `twilio/${name}`, store: 'file', value, replace: true });
    },
    invariant,
  );

const run = (invariant: Invariant, targets: string[], force = false, faults: RunSpec['faults'] = []) =>
  new RunCommand({ targets, force, faults }, invariant);

export function commands(invariant: Invariant): fc.Arbitrary<Iterable<Cmd>> {
  const runArb = specArb.map((s) => new RunCommand(s, invariant));
  return fc.commands(
    families([
      ['Run', runArb],
      ['Run', runArb],
      [
        'Pair',
        fc
          .tuple(specArb, specArb, fc.array(fc.nat({ max: 1 }), { minLength: 1, maxLength: 12 }))
          .map(([a, b, order]) => new PairCommand(a, b, order, invariant)),
      ],
      ['Advance', fc.constantFrom(...ADVANCES).map((ms) => new AdvanceCommand(ms))],
      ['DeliverLateWrites', fc.constant(new LateWritesCommand(invariant))],
      [
        'SecretPutReplace',
        fc
          .tuple(targetArb, fc.constantFrom<'console-key' | 'copy-other'>('console-key', 'copy-other'))
          .map(([name, source]) => putReplace(name, source, invariant)),
      ],
      [
        'Confirm',
        targetArb.map(
          (name) => new PersonCommand(`Confirm(${name})`, (w) => confirm(w.config, w.personRuntime(), name), invariant),
        ),
      ],
      [
        'AuditCleanup',
        fc.constant(
          new PersonCommand(
            'AuditCleanup()',
            (w) => audit(w.config, w.personRuntime('audit'), { olderThanDays: 0, cleanup: 'revoke' }),
            invariant,
          ),
        ),
      ],
      [
        'ConsoleCreateKey',
        fc.constant(
          new PersonCommand('ConsoleCreateKey()', (w) => Promise.resolve(w.addKey('hand-made', 'person')), invariant),
        ),
      ],
      [
        'ConsoleDeleteKey',
        fc.nat({ max: 7 }).map(
          (pick) =>
            new PersonCommand(
              `ConsoleDeleteKey(#${pick})`,
              (w) => {
                // A person deletes a key no secret serves as AWSCURRENT (deleting a current key is an
                // outage of their own making, which no rotator can prevent).
                const serving = new Set(TARGETS.map((t) => credOf(currentValue(w, t))));
                const candidates = [...w.keys.keys()].filter((sid) => !serving.has(sid));
                if (candidates.length > 0) w.keys.delete(candidates[pick % candidates.length]!);
                return Promise.resolve();
              },
              invariant,
            ),
        ),
      ],
      [
        'ConsoleMoveCurrentBack',
        targetArb.map(
          (name) =>
            new PersonCommand(
              `ConsoleMoveCurrentBack(${name})`,
              async (w) => {
                // Rolls AWSCURRENT back to the AWSPREVIOUS version, as a person can in the Console, when
                // that key still works (rolling back to a dead key is an outage of their own making).
                const previous = w.table[`twilio/${name}`]?.versions.find((v) => v.stages.includes(PREVIOUS));
                if (previous && w.authenticates(previous.value))
                  await w.store.promote(`twilio/${name}`, previous.versionId);
              },
              invariant,
            ),
        ),
      ],
    ]),
    { maxCommands: 14, size: 'max' },
  );
}

/**
 * The minimal counterexamples found on the code of issue 19, tried first by every property so that a
 * fix is checked against them whatever the seed explores. They are sequences, not expectations: each
 * property still says which invariant it checks.
 */
export function known(invariant: Invariant): Cmd[][] {
  return [
    // secret put --replace while the gate waits: the key the gate protects loses its label and is
    // swept as an orphan "never published" by the next run.
    [run(invariant, [], true), putReplace('app1', 'console-key', invariant), run(invariant, [])],
    // Two replacements by hand: the rotator's own key, served until a moment ago, is swept as an orphan.
    [putReplace('app2', 'console-key', invariant), putReplace('app2', 'console-key', invariant), run(invariant, [])],
    // Two targets hold one key (adopted by hand): rotating one retires the other's AWSCURRENT.
    [
      putReplace('app1', 'copy-other', invariant),
      run(invariant, ['app1'], true),
      new AdvanceCommand(31 * 86_400_000),
      run(invariant, []),
    ],
    // app1's own old key, adopted by hand into app2 as its current key, then replaced in app1: app1's
    // forced rotation sweeps it as an orphan while app2 serves it.
    [
      putReplace('app2', 'copy-other', invariant),
      putReplace('app1', 'console-key', invariant),
      run(invariant, ['app1'], true),
    ],
    // A killed run's rotator:promoted write (held back: late-write at call 5 is the first store write
    // from there, the TagResource before the promotion) lands after a newer rotation's: the stale
    // record makes the next run skip the gate, rotate again and sweep the still-served key as an orphan.
    [
      run(invariant, ['app1'], true, [{ at: 5, kind: 'late-write' }]),
      run(invariant, ['app1']),
      new AdvanceCommand(3_600_000),
      run(invariant, ['app1']),
      run(invariant, ['app1'], true),
      new LateWritesCommand(invariant),
      run(invariant, ['app1'], true),
    ],
  ];
}
