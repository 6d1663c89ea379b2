import type { RotatorConfig, TargetConfig } from '../config/types.js';
import { kindOf } from '../credentials/registry.js';

/**
 * Shards: SQS messages that each name some targets for the shard worker (entry/shard.ts). A message
 * holds target names and labels for the log, never a credential, a secret id or anything read from a
 * store; the worker acts on `targets` alone:
 *
 *   {"kind":"twilio-key-rotator/shard","version":1,"run":"<scheduler's request id>","part":2,"parts":7,
 *    "targets":["app-eu","app-us"]}
 */

export const SHARD_KIND = 'twilio-key-rotator/shard';
export const SHARD_VERSION = 1;
/** ROTATOR_SHARD_TARGETS_PER_MESSAGE's range: one target to as many as one worker could plausibly finish. */
export const MAX_TARGETS_PER_MESSAGE = 500;
/** A name longer than this is not a target name (configured names have at most 64 characters). */
export const MAX_NAME_LENGTH = 256;
/** One message body at most; SQS takes 256 KiB per message and per batch, so a batch holds at least one. */
export const MAX_BODY_BYTES = 200_000;

export interface ShardMessage {
  run: string;
  part: number;
  parts: number;
  targets: string[];
}

export function shardBody(message: ShardMessage): string {
  const { run, part, parts, targets } = message;
  return JSON.stringify({ kind: SHARD_KIND, version: SHARD_VERSION, run, part, parts, targets });
}

/**
 * Groups that must share a message. An Auth Token's promotion replaces the token other targets may manage
 * keys with, so one run rotates it first (engine/commands.ts); across messages there is no order, so it
 * travels with the targets on its account and those whose admin secret is its secret.
 */
function units(config: RotatorConfig, names: readonly string[]): string[][] {
  const byName = new Map(config.targets.map((t) => [t.name, t]));
  const first = (t: TargetConfig): boolean => kindOf(t).order === 'first';
  const tokens = names.flatMap((n) => byName.get(n) ?? []).filter(first);
  const owner = (t: TargetConfig | undefined): TargetConfig | undefined =>
    t === undefined || first(t)
      ? t
      : tokens.find(
          (a) =>
            a.accountSid.toUpperCase() === t.accountSid.toUpperCase() ||
            (a.secret.store === t.admin?.store && a.secret.secretId === t.admin.secretId),
        );
  const groups = new Map<string, string[]>();
  const out: string[][] = [];
  for (const name of new Set(names)) {
    const token = owner(byName.get(name));
    if (!token) {
      out.push([name]);
      continue;
    }
    let group = groups.get(token.name);
    if (!group) {
      group = [token.name];
      groups.set(token.name, group);
      out.push(group);
    }
    if (name !== token.name) group.push(name);
  }
  return out;
}

const bytes = (name: string) => Buffer.byteLength(JSON.stringify(name)) + 1;

/**
 * Messages of at most `perMessage` names and MAX_BODY_BYTES, in order, each name once; a group is kept
 * whole when it fits, else fills messages of its own with its Auth Token target in the first.
 */
export function planShards(config: RotatorConfig, names: readonly string[], perMessage: number): string[][] {
  const budget = MAX_BODY_BYTES - 512; // room for the metadata
  const messages: string[][] = [];
  let current: string[] = [];
  let used = 0;
  const close = () => {
    if (current.length > 0) messages.push(current);
    current = [];
    used = 0;
  };
  for (const unit of units(config, names)) {
    const size = unit.reduce((n, name) => n + bytes(name), 0);
    if (current.length + unit.length > perMessage || used + size > budget) close();
    for (const name of unit) {
      if (name.length === 0 || name.length > MAX_NAME_LENGTH)
        throw new Error(`a target name must have 1 to ${MAX_NAME_LENGTH} characters; one has ${name.length}`);
      if (current.length >= perMessage || used + bytes(name) > budget) close();
      current.push(name);
      used += bytes(name);
    }
  }
  close();
  return messages;
}

export type ParsedShard = { ok: true; targets: string[]; run?: string } | { ok: false; problem: string };

/**
 * Reads a message body. A problem names the field and says what is wrong with its shape, never what
 * it holds: whoever put something else on the queue may have put a secret there.
 */
export function parseShardBody(body: string): ParsedShard {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { ok: false, problem: 'the body is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, problem: 'the body is not a JSON object' };
  const v = value as Record<string, unknown>;
  if (v.kind !== SHARD_KIND) return { ok: false, problem: `kind is not "${SHARD_KIND}"` };
  const deploy = '(deploy the scheduler and the worker together)';
  if (v.version !== SHARD_VERSION)
    return { ok: false, problem: `version is not ${SHARD_VERSION}, the one this worker reads ${deploy}` };
  const targets = v.targets;
  if (!Array.isArray(targets) || targets.length === 0)
    return { ok: false, problem: 'targets is not a non-empty list of target names' };
  if (targets.length > MAX_TARGETS_PER_MESSAGE)
    return { ok: false, problem: `targets has ${targets.length} names, more than ${MAX_TARGETS_PER_MESSAGE}` };
  const bad = targets.findIndex(
    // eslint-disable-next-line no-control-regex -- a name never holds control characters
    (t) => typeof t !== 'string' || t.length === 0 || t.length > MAX_NAME_LENGTH || /[\x00-\x1f\x7f]/.test(t),
  );
  const name = `a string of 1 to ${MAX_NAME_LENGTH} printable characters`;
  if (bad >= 0) return { ok: false, problem: `targets[${bad}] is not a target name (${name})` };
  const run = typeof v.run === 'string' && /^[A-Za-z0-9-]{1,64}$/.test(v.run) ? v.run : undefined;
  return { ok: true, targets: [...new Set(targets as string[])], ...(run ? { run } : {}) };
}
