import { isMemberName } from '../config/fleets.js';
import type { RotatorConfig, TargetConfig } from '../config/types.js';
import type { RunScope, Runtime } from '../core/runtime.js';
import type { AdminCredential } from '../core/secret-values.js';
import { RotationError, UsageError } from '../errors.js';
import { expandFleets, template, type Unresolved } from './fleets.js';
import { createRunScope } from './scope.js';

export type { Unresolved } from './fleets.js';

/**
 * Resolution, once per command and before anything else: a command's names (none: every target) become
 * its targets. A fleet's name stands for its members (`<fleet>-<subaccount SID>`), known once it is
 * listed (engine/fleets.ts); only the fleets a name touches are listed (the daemon runs one unit at a time).
 */
export interface Targets {
  /** With the listed fleets' members among its targets: what a run's scope sees. */
  config: RotatorConfig;
  /** In configuration order. */
  chosen: TargetConfig[];
  /** Fleet members' admin credentials by target name. */
  admins: ReadonlyMap<string, AdminCredential>;
  unresolved: Unresolved[];
  /** The names a person gave (none on a schedule): a paused target among them runs. */
  named: ReadonlySet<string>;
  /** The result names a given name stands for when it is more than itself (a fleet: its members). */
  covers: ReadonlyMap<string, string[]>;
}

/** The names no configured target or fleet has (a fleet member's name counts as known), each once. */
export function unknownTargetNames(config: RotatorConfig, names: readonly string[]): string[] {
  return [...new Set(names)].filter((n) => lookUp(config, n) === undefined);
}

/** What a name stands for before anything is listed: a target, a fleet or a fleet's member, in words. */
export function lookUp(config: RotatorConfig, name: string) {
  const target = config.targets.find((t) => t.name === name);
  if (target) return { ...target, group: false, what: `a target of kind ${target.kind}` };
  const fleet = config.fleets.find((f) => f.name === name || isMemberName(f.name, name));
  if (!fleet) return undefined;
  const group = fleet.name === name;
  return { ...template(fleet), name, group, what: group ? 'a fleet' : `a member of fleet "${fleet.name}"` };
}

const unknownError = (unknown: readonly string[], known: readonly string[]) => {
  const quoted = unknown.map((n) => `"${n}"`).join(', ');
  return new UsageError(`unknown target${unknown.length > 1 ? 's' : ''} ${quoted}; configured: ${known.join(', ')}`);
};

const knownNames = (config: RotatorConfig) => [...config.targets, ...config.fleets].map((t) => t.name);

/** `scheduled`: a schedule's names (a paused target stays paused; a member gone from its fleet is deferred). */
export async function resolveTargets(
  config: RotatorConfig,
  runtime: Runtime,
  names: readonly string[] = [],
  scheduled = false,
): Promise<Targets> {
  const given = [...new Set(names)];
  const unknown = unknownTargetNames(config, given);
  if (unknown.length > 0) throw unknownError(unknown, knownNames(config));
  const touches = (fleet: string) => (n: string) => n === fleet || isMemberName(fleet, n);
  const fleets = config.fleets.filter((f) => given.length === 0 || given.some(touches(f.name)));
  const expansion = fleets.length > 0 ? await expandFleets(config, runtime, fleets) : undefined;
  const all = expansion ? { ...config, targets: [...config.targets, ...expansion.members] } : config;
  const wanted = (t: TargetConfig) => given.includes(t.name) || (t.fleet !== undefined && given.includes(t.fleet.name));
  const chosen = given.length === 0 ? all.targets : all.targets.filter(wanted);
  // A fleet that could not be listed fails once, by its name, when the names cover it.
  const covered = (name: string) =>
    given.length === 0 || given.some((n) => n === name || name.startsWith(`${n}-`) || n.startsWith(`${name}-`));
  const unresolved = (expansion?.unresolved ?? []).filter((u) => covered(u.result.target));
  const isFleet = (n: string) => config.fleets.some((f) => f.name === n);
  for (const name of given.filter((n) => !isFleet(n) && !all.targets.some((t) => t.name === n))) {
    const own = (u: Unresolved) => u.result.target === name || name.startsWith(`${u.result.target}-`);
    if (!unresolved.some(own)) unresolved.push(notListed(config, name, scheduled));
  }
  const results = [...chosen.map((t) => t.name), ...unresolved.map((u) => u.result.target)];
  const covers = new Map(
    fleets.filter((f) => given.includes(f.name)).map((f) => [f.name, results.filter(touches(f.name))]),
  );
  const admins = expansion?.admins ?? new Map<string, AdminCredential>();
  return { config: all, chosen, admins, unresolved, named: new Set(scheduled ? [] : given), covers };
}

/** A member its fleet did not list this run (closed, suspended or filtered out): nothing is done to it. */
function notListed(config: RotatorConfig, name: string, scheduled: boolean): Unresolved {
  const fleet = config.fleets.find((f) => isMemberName(f.name, name))!;
  const gone = "not among its fleet's active subaccounts this run";
  const why = `${gone} (closed, suspended or filtered out)`;
  const base = { target: name, credential: template(fleet).kind, steps: [] };
  const result = scheduled
    ? { ...base, kind: 'deferred' as const, detail: `${gone}; nothing done`, reason: 'not-a-member' as const }
    : { ...base, kind: 'failed' as const, step: 'expand-fleet', error: `${why}; nothing done` };
  return { result, why, account: fleet.parentAccountSid, label: `fleet ${fleet.name}: ${name}` };
}

/**
 * One target by name. A fleet's name is refused; a member of a fleet that could not be listed fails as a
 * run does (exit 1: it may work next time). `done`: what the command would have done ("rotated").
 */
export async function resolveOne(
  config: RotatorConfig,
  runtime: Runtime,
  name: string,
  done: string,
): Promise<Targets & { target: TargetConfig }> {
  if (config.fleets.some((f) => f.name === name)) {
    const members = `${name}-<subaccount SID>; twilio-key-rotator status ${name} lists them`;
    throw new UsageError(`"${name}" is a fleet; name one of its members (${members})`);
  }
  const resolved = await resolveTargets(config, runtime, [name]);
  const [target] = resolved.chosen;
  if (target) return { ...resolved, target };
  const fleet = resolved.unresolved.find((u) => u.fleet)?.result;
  if (fleet?.kind === 'failed') {
    const why = `fleet "${fleet.target}" could not list its subaccounts, so ${name} was not ${done}: ${fleet.error}`;
    throw new RotationError(name, 'expand-fleet', `${why}; nothing was changed: run the same command again`);
  }
  throw unknownError([name], knownNames(resolved.config));
}

/** A run's scope over the resolved targets: admin secrets read once, fleet members' tokens included. */
export const runScope = (targets: Pick<Targets, 'config' | 'admins'>, runtime: Runtime): RunScope =>
  createRunScope(targets.config, runtime, targets.admins);

/** What a schedule runs, each on its own: every target, and each fleet as one unit of its members. */
export interface Unit {
  name: string;
  kind: string;
  schedule?: string;
  paused: boolean;
  /** A fleet: its targets are known only once a run lists them. */
  group?: true;
}

export function scheduledUnits(config: RotatorConfig): Unit[] {
  return [
    ...config.targets,
    ...config.fleets.map((f) => {
      const { kind, schedule, paused } = template(f);
      return { name: f.name, kind, ...(schedule ? { schedule } : {}), paused, group: true as const };
    }),
  ];
}

/**
 * What the scheduled Lambda shards (entry/shard.ts): the names not paused, fleets listed into members.
 * A fleet that could not be listed is named itself: the worker that gets it lists it again and reports it.
 */
export async function scheduledTargetNames(config: RotatorConfig, runtime: Runtime): Promise<string[]> {
  const resolved = await resolveTargets(config, runtime, [], true);
  const unlisted = resolved.unresolved.filter((u) => u.fleet).map((u) => u.result.target);
  return [...resolved.chosen.filter((t) => !t.paused).map((t) => t.name), ...unlisted];
}

/** What a name a run reported stands for without listing anything: its kind and pause (daemon metrics). */
export function describeNames(config: RotatorConfig, names: readonly string[]): Unit[] {
  const members = config.fleets.flatMap((f) => names.filter((n) => isMemberName(f.name, n)));
  return [...config.targets, ...members.map((n) => lookUp(config, n)!)].map(({ name, kind, paused }) => ({
    name,
    kind,
    paused,
  }));
}

/** Is `name` one a run of this configuration may report (a target, a fleet, a fleet's member)? */
export const isKnownName = (config: RotatorConfig, name: string) => lookUp(config, name) !== undefined;

/** The stores the named targets use (a fleet's name or member: its parent's and its members'), or all. */
export function storesNamed(config: RotatorConfig, names: readonly string[] = []): Set<string> {
  const named = (n: string) => names.length === 0 || names.includes(n);
  const ofFleet = (f: string) => names.length === 0 || names.some((n) => n === f || isMemberName(f, n));
  return new Set([
    ...config.targets.filter((t) => named(t.name)).flatMap((t) => [t.secret.store, (t.admin ?? t.secret).store]),
    ...config.fleets.filter((f) => ofFleet(f.name)).flatMap((f) => [f.admin.store, template(f).secret.store]),
  ]);
}

/** The target whose secret a Secrets Manager event names (`find` throws when none has it); a member after listing. */
export async function resolveBySecret(
  config: RotatorConfig,
  runtime: Runtime,
  find: (config: RotatorConfig) => TargetConfig,
): Promise<{ target: TargetConfig; scope: RunScope }> {
  try {
    return { target: find(config), scope: createRunScope(config, runtime) };
  } catch (err) {
    if (config.fleets.length === 0) throw err;
    const resolved = await resolveTargets(config, runtime);
    return { target: find(resolved.config), scope: runScope(resolved, runtime) };
  }
}
