import type { SecretLocation } from '../../core/target.js';
import {
  CURRENT,
  labelled,
  parseStamp,
  PENDING,
  placeholderOf,
  PREVIOUS,
  recordedPromotion,
  TAG_CURRENT_SINCE,
} from '../../core/labels.js';
import type { AuthTokens, StoredSecret, TokenCheck } from '../../core/ports.js';
import type { RunScope, Runtime } from '../../core/runtime.js';
import type { AdminCredential } from '../../core/secret-values.js';
import { RotationError, SecretShapeError, type ValueSource } from '../../errors.js';
import { readAdmin } from '../admin.js';
import type { Session } from '../kind.js';
import type { AuthTokenTargetConfig } from './config.js';
import {
  TAG_SECONDARY_INTENT,
  TAG_SETTLED,
  TAG_UNSTORED,
  type Observation,
  type RunFacts,
  type TokenVersion,
} from './observation.js';
import { parseAuthTokenSecret, tokenFingerprint } from './shape.js';

/** An auth-token target's run: its store, the scope (admin secrets), and Auth Token management on demand. */
export interface AuthTokenSession extends Session<AuthTokenTargetConfig> {
  scope: RunScope;
  /** The admin credential as the configuration names it, read when a step needs Twilio's Auth Token API. */
  admin(): Promise<AdminCredential>;
  /** Auth Token management with the admin credential of this moment (after a promotion, the new token). */
  authTokens(): Promise<AuthTokens>;
  /** What this run has learnt so far (token checks). */
  facts: RunFacts;
  /** --force or rotate --now: the run will name a new version, so its reads take every version id. */
  rotating?: boolean;
}

/** The token a value holds, refused (SecretShapeError) unless it is of the target's account. */
export function targetToken(source: ValueSource, raw: string | undefined, binary: boolean, t: AuthTokenTargetConfig) {
  const parsed = parseAuthTokenSecret(source, raw, binary);
  if (parsed.accountSid.toUpperCase() === t.accountSid.toUpperCase()) return parsed;
  const why = `is ${parsed.accountSid}, but target "${t.name}" rotates the Auth Token of ${t.accountSid}`;
  throw new SecretShapeError(source, 'accountSid', why);
}

export function tokenVersion(secret: StoredSecret, stage: string, t: AuthTokenTargetConfig): TokenVersion | undefined {
  const version = labelled(secret, stage);
  if (!version) return undefined;
  const source = { secretId: secret.secretId, versionId: version.versionId, stage };
  const { document, authToken } = targetToken(source, version.value, version.binary ?? false, t);
  const { versionId, createdAtMs } = version;
  return { versionId, createdAtMs, token: authToken, ref: tokenFingerprint(authToken), document };
}

/** "<rotationId> <ISO time> <word>", the shape of the intent and unstored tags. */
function parseRecord(tag: string | undefined): { rotationId: string; atMs: number; word?: string } | undefined {
  const [rotationId, iso, word] = tag?.split(' ') ?? [];
  const atMs = iso ? Date.parse(iso) : Number.NaN;
  return rotationId && !Number.isNaN(atMs) ? { rotationId, atMs, ...(word ? { word } : {}) } : undefined;
}

/** Asks Twilio about a token once per run; an answer that says nothing stops the run, nothing is guessed. */
export async function check(
  session: AuthTokenSession,
  runtime: Runtime,
  facts: RunFacts,
  version: TokenVersion,
  how: { refusalSettles?: boolean } = {},
): Promise<TokenCheck> {
  let found = facts.checks.get(version.token);
  if (!found) {
    found = await runtime.tokenVerifier(session.target).check(session.target.accountSid, version.token, how);
    if (!found.ok && !found.definitive) {
      throw new RotationError(
        session.target.name,
        'observe',
        `could not ask Twilio about the token ${version.ref} (${found.reason}); nothing was changed`,
      );
    }
    facts.checks.set(version.token, found);
  }
  return found;
}

/**
 * One look: the secret's labelled tokens, and what Twilio says of each token the planner needs (does
 * it work, is it the primary), using only that token. After a promotion of this rotator's, also the
 * other admin secrets that still hold the retired token.
 */
export async function observe(session: AuthTokenSession, runtime: Runtime, facts: RunFacts): Promise<Observation> {
  const { store } = session;
  const secretId = session.target.secret.secretId;
  const first = await look(session, runtime, facts, await store.read(secretId, { versionIds: session.rotating }));
  const current = first.current;
  if (!current || first.checks.get(current.ref)?.ok !== false) return first;
  // Refused: another run may have promoted the token since this run read the secret (a racing run,
  // or a copy from the batched sweep). What the store holds now decides, not what this run remembers.
  const again = await store.read(secretId, { fresh: true });
  const moved = labelsMoved(first.secret, again);
  if (moved === undefined) return first;
  const second = await look(session, runtime, facts, again);
  second.movedUnder = moved;
  return second;
}

/** What moved between two reads of the secret (AWSCURRENT or AWSPENDING), or undefined. */
function labelsMoved(before: StoredSecret | undefined, after: StoredSecret | undefined): string | undefined {
  const at = (s: StoredSecret | undefined, stage: string) => (s ? labelled(s, stage)?.versionId : undefined);
  const moves = [CURRENT, PENDING].flatMap((stage) => {
    const from = at(before, stage);
    const to = at(after, stage);
    return from === to ? [] : [`${stage} ${from ?? 'none'} → ${to ?? 'none'}`];
  });
  return moves.length > 0 ? moves.join(', ') : undefined;
}

async function look(
  session: AuthTokenSession,
  runtime: Runtime,
  facts: RunFacts,
  secret: StoredSecret | undefined,
): Promise<Observation> {
  const { target } = session;
  const obs: Observation = {
    nowMs: runtime.now(),
    secretId: target.secret.secretId,
    secret,
    checks: new Map(),
    staleCopies: [],
  };
  if (!secret) return obs;
  const current = tokenVersion(secret, CURRENT, target);
  if (!current) return obs;
  obs.current = current;
  let previous: TokenVersion | undefined;
  try {
    previous = tokenVersion(secret, PREVIOUS, target);
  } catch (err) {
    // An unreadable previous token holds nothing to protect or retire: the rotator never deletes tokens.
    if (!(err instanceof SecretShapeError)) throw err;
  }
  if (previous) obs.previous = previous;
  const placeholder = placeholderOf(secret);
  if (placeholder) obs.pendingPlaceholder = placeholder;
  else {
    const pending = tokenVersion(secret, PENDING, target);
    if (pending && pending.versionId !== current.versionId) obs.pending = pending;
  }
  const intent = parseRecord(secret.tags[TAG_SECONDARY_INTENT]);
  if (intent?.word && obs.pending?.versionId !== intent.rotationId)
    obs.intent = { rotationId: intent.rotationId, atMs: intent.atMs, nonce: intent.word };
  const unstored = parseRecord(secret.tags[TAG_UNSTORED]);
  const how = unstored?.word === 'lost-answer' ? 'lost-answer' : 'stopped';
  if (unstored) obs.unstored = { rotationId: unstored.rotationId, atMs: unstored.atMs, how };

  const checks = new Map<string, TokenCheck>();
  checks.set(current.ref, await check(session, runtime, facts, current));
  if (obs.pending) checks.set(obs.pending.ref, await check(session, runtime, facts, obs.pending));
  const promotedHere =
    previous !== undefined && recordedPromotion(secret, previous.versionId, current.versionId) === true;
  obs.promoting = promotedHere && secret.tags[TAG_SETTLED] !== current.versionId;
  const since = parseStamp(secret.tags[TAG_CURRENT_SINCE], current.versionId);
  const propagated = since !== undefined && obs.nowMs - since >= target.propagationDelayMs;
  if (previous && obs.promoting && propagated) {
    // The old primary after our promotion: a refusal is what settles the rotation, and one says it.
    // Not asked before the propagation delay has passed: the planner waits for that first (./plan.ts).
    checks.set(previous.ref, await check(session, runtime, facts, previous, { refusalSettles: true }));
  }
  obs.checks = checks;
  if (previous && promotedHere) obs.staleCopies = await copiesHolding(session, runtime, previous.token);
  return obs;
}

/**
 * Admin secrets other than the target's own that hold `oldToken` of this account. Read afresh
 * (not from the run's admin cache): a refresh earlier in this run must show.
 */
export async function copiesHolding(
  session: AuthTokenSession,
  runtime: Runtime,
  oldToken: string,
): Promise<SecretLocation[]> {
  const { target, scope } = session;
  const out: SecretLocation[] = [];
  for (const location of scope.adminLocations()) {
    if (location.store === target.secret.store && location.secretId === target.secret.secretId) continue;
    // An admin secret that cannot be read is its own target's problem, and says so there.
    const admin = await readAdmin(runtime.store(location.store), target.name, location).catch(() => undefined);
    if (
      admin?.kind === 'auth-token' &&
      admin.accountSid.toUpperCase() === target.accountSid.toUpperCase() &&
      admin.password === oldToken
    ) {
      out.push(location);
    }
  }
  return out;
}
