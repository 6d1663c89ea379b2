import type { KindModule, ObservationBase, Session, TargetShape, Words } from './kind.js';
import { apiKey } from './api-key/module.js';
import { authToken } from './auth-token/module.js';
import { oauthApp } from './oauth-app/module.js';

/** A kind table whose target type is `T`: the type its config's `convert` returns. */
type Parses<T> = { config: { convert(raw: never): T } };
/** The entries of a kind map, each under the name its targets carry in `kind`. */
const named = <M extends { [K in keyof M]: Parses<{ kind: K }> }>(kinds: M) => kinds;

/** The one registry of credential kinds: adding a kind is its folder and one line here (docs/architecture.md). */
export const KINDS = named({
  'api-key': apiKey,
  'auth-token': authToken,
  'oauth-app': oauthApp,
});

/**
 * Kinds registered at run time (registerKind) declare their target type here, by module augmentation,
 * and it joins TargetConfig: `declare module '…/credentials/registry.js' { interface RegisteredTargets
 * { counter: CounterTarget } }` (test/conformance/kinds.ts).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface RegisteredTargets {}

type TargetOf<M> = M extends Parses<infer T> ? T : never;
type Targets = { [K in keyof typeof KINDS]: TargetOf<(typeof KINDS)[K]> } & RegisteredTargets;

/** A target of any registered kind, as configuration parses it, told apart by `kind`. */
export type TargetConfig = Targets[keyof Targets];
export type CredentialKind = TargetConfig['kind'];
/** The target type of one kind. */
export type TargetOfKind<K extends CredentialKind> = Extract<TargetConfig, { kind: K }>;

/** A kind's table with its own types erased: what the kind-agnostic engine holds. */
export type AnyKind = KindModule<TargetConfig, Session, ObservationBase, { kind: string }, unknown>;

const registered = new Map<string, AnyKind>(Object.entries(KINDS) as [string, AnyKind][]);

/** Adds a kind at run time (the conformance suite's toy); its targets are built in code, not read from a file. */
export function registerKind<
  T extends TargetShape,
  S extends Session<T>,
  O extends ObservationBase,
  P extends { kind: string },
  Settings,
>(name: T['kind'], kind: KindModule<T, S, O, P, Settings>): void {
  if (registered.has(name)) throw new Error(`credential kind "${name}" is registered already`);
  registered.set(name, kind as unknown as AnyKind);
}

export function kindOf(target: { kind: string }): AnyKind {
  const kind = registered.get(target.kind);
  if (!kind) throw new Error(`no credential kind "${target.kind}" is registered; this is a bug`);
  return kind;
}

/** Every registered kind's name, the built-in ones first. */
export function kindNames(): string[] {
  return [...registered.keys()];
}

/** How results and status name a kind's credentials; a kind the registry does not know is a "credential". */
export function wordsOf(kind: string): Words {
  return registered.get(kind)?.words ?? { noun: 'credential', ref: /^\S+$/ };
}

export { accountToken, isAccountToken, readAdmin } from './admin.js';
export { tokenFingerprint, TOKEN_FINGERPRINT } from './auth-token/shape.js';
export type {
  Words,
  ActResult,
  CurrentSummary,
  KindModule,
  ObservationBase,
  RotationEvent,
  RunFlags,
  Session,
  StepSpec,
} from './kind.js';
