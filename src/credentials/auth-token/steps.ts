import { randomBytes, randomUUID } from 'node:crypto';
import type { SecretLocation } from '../../core/target.js';
import {
  CURRENT,
  formatPromotion,
  formatStamp,
  labelled,
  PENDING,
  TAG_CURRENT_SINCE,
  TAG_PROMOTED,
} from '../../core/labels.js';
import type { StoredSecret } from '../../core/ports.js';
import type { Runtime } from '../../core/runtime.js';
import { parseSecretObject } from '../../core/secret-values.js';
import { RemoteError, RotationError, SecretShapeError } from '../../errors.js';
import type { ActResult } from '../kind.js';
import { copiesHolding, tokenVersion, type AuthTokenSession } from './observe.js';
import {
  TAG_PENDING_SINCE,
  TAG_SECONDARY_INTENT,
  TAG_SETTLED,
  TAG_UNSTORED,
  type Observation,
  type PlannerSettings,
  type RunFacts,
  type Step,
  type TokenVersion,
  type Unstored,
} from './observation.js';
import { nextAuthTokenValue, tokenFingerprint } from './shape.js';

/**
 * Each step of the Auth Token flow as one function, used by the reconcile loop (`act`), the dry run
 * and Secrets Manager's rotation protocol (./protocol.ts). Each comment says what the step leaves.
 */

const secretIdOf = (session: AuthTokenSession) => session.target.secret.secretId;

/**
 * Twilio refused the admin credential. When the target manages itself, that credential is the token
 * this run read: another run promoted a new one since, and this run has lost the race.
 */
export const refusedSelf = (session: AuthTokenSession, err: unknown) =>
  session.target.selfManaged && err instanceof RemoteError && (err.detail.status === 401 || err.detail.status === 403);

/** The value to store for `token`: the current version's fields, the new token. */
function valueFor(session: AuthTokenSession, obs: Observation, token: string): string {
  const { target } = session;
  return nextAuthTokenValue(obs.current?.document, {
    accountSid: target.accountSid,
    authToken: token,
    ...(target.validationUrl ? { validationUrl: target.validationUrl } : {}),
  });
}

/** Looks at the store for a racing run's token, SETTLE_LOOKS more times, SETTLE_PAUSE_MS apart. */
const SETTLE_LOOKS = 3;
const SETTLE_PAUSE_MS = 1000;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A secondary that exists and whose value this rotator does not hold: kept, never deleted. With an
 * unstored record, a creation of this rotator's probably (lost answer) or maybe (its run stopped) made it.
 */
export type KeptSecondary = { why: 'foreign' } | ({ why: 'ours-lost' } & Unstored);

export type Creation = { stored: TokenVersion['ref'] } | { lost: string } | { kept: KeptSecondary };

const AGAIN = 'another process is rotating this account; stop it first';
const STAYS_PRIMARY = 'the current token stays the primary';
const SECONDARY_GONE = 'its secondary was deleted outside the rotator; dropped AWSPENDING';
const STORED_AS_CURRENT = 'it is stored as AWSCURRENT so nothing is locked out';

/** A failure after which Twilio certainly made nothing: a 4xx other than 429. */
const madeNothing = (err: unknown) =>
  err instanceof RemoteError &&
  err.detail.status !== undefined &&
  err.detail.status >= 400 &&
  err.detail.status < 500 &&
  err.detail.status !== 429;

/** Takes back this run's announcement (the one ending in `nonce`), and sets `also` in the same write. */
async function withdraw(session: AuthTokenSession, nonce: string, also: Record<string, string> = {}): Promise<void> {
  const secretId = secretIdOf(session);
  const again = await session.store.read(secretId, { fresh: true });
  const ours = (again?.tags[TAG_SECONDARY_INTENT] ?? '').endsWith(` ${nonce}`);
  if (ours || Object.keys(also).length > 0)
    await session.store.setTags(secretId, { ...(ours ? { [TAG_SECONDARY_INTENT]: '' } : {}), ...also });
}

/** The token a stage holds, or undefined when it holds none this kind can read. */
function readable(secret: StoredSecret, stage: string, session: AuthTokenSession): TokenVersion | undefined {
  try {
    return tokenVersion(secret, stage, session.target);
  } catch (err) {
    if (err instanceof SecretShapeError) return undefined;
    throw err;
  }
}

/**
 * Refuses (throws, nothing deleted) when the account's secondary is a token the target's own secret
 * serves: AWSCURRENT or AWSPENDING works and is not the primary. Asked of Twilio now, not from memory.
 */
async function refuseIfServed(session: AuthTokenSession, runtime: Runtime): Promise<void> {
  const { target } = session;
  const secret = await session.store.read(secretIdOf(session), { fresh: true });
  for (const stage of [CURRENT, PENDING]) {
    const version =
      secret && labelled(secret, stage)?.value !== undefined ? readable(secret, stage, session) : undefined;
    if (!version) continue;
    const state = await runtime.tokenVerifier(target).check(target.accountSid, version.token);
    const refuse = (why: string) =>
      new RotationError(target.name, 'start-rotation', `--replace-secondary refused: ${why}; nothing was deleted`);
    if (!state.ok && !state.definitive)
      throw refuse(`Twilio could not say whether ${stage} (${version.ref}) is the secondary (${state.reason})`);
    if (state.ok && !state.primary) {
      const what = `the account's secondary is ${version.ref}, the token ${stage} of "${secretIdOf(session)}" serves`;
      const fix = 'Promote it in the Twilio Console (or let the rotation promote it), then run rotate';
      throw refuse(`${what}; deleting it would lock out every consumer. ${fix}`);
    }
  }
}

/**
 * Announces the creation (so other runs wait while it is in flight), asks Twilio for a secondary
 * token and stores it under `token` as AWSPENDING at once: Twilio never shows it again.
 *
 * A secondary that already exists is never this run's to delete: this rotator does not hold its value.
 * A 70002 to the first attempt proves it was there before, so the announcement is withdrawn at once;
 * a 70002 after an attempt whose answer was lost means it is probably this rotator's own, value lost,
 * and that is recorded (TAG_UNSTORED). Either way it is kept and reported, unless the operator asked
 * to replace it and it is not a token the target's own secret serves.
 * Leaves: a secondary on Twilio stored as AWSPENDING; or (kept, lost race) no announcement of this run.
 */
export async function createSecondary(
  session: AuthTokenSession,
  runtime: Runtime,
  obs: Observation,
  facts: RunFacts,
  token: string,
  replaceSecondary: boolean,
): Promise<Creation> {
  const secretId = secretIdOf(session);
  const tokens = await session.authTokens();
  for (let round = 0; ; round++) {
    const nonce = randomBytes(4).toString('hex');
    const atMs = runtime.now();
    await session.store.setTags(secretId, {
      [TAG_SECONDARY_INTENT]: `${token} ${new Date(atMs).toISOString()} ${nonce}`,
    });
    facts.checks.clear();
    let made: Awaited<ReturnType<typeof tokens.createSecondary>>;
    try {
      made = await tokens.createSecondary();
    } catch (err) {
      if (refusedSelf(session, err)) {
        await withdraw(session, nonce);
        return { lost: 'another run promoted a new token while this one was starting; nothing was made' };
      }
      // Twilio refused outright: nothing was made. Otherwise the outcome is unknown, and the
      // announcement stays: a run after the creation window writes it off (abandon-creation).
      if (madeNothing(err)) await withdraw(session, nonce);
      throw err;
    }
    if (typeof made === 'object') return store(session, runtime, obs, token, made.token);

    const unknown = made === 'exists-after-unknown';
    const record: Unstored = { rotationId: token, atMs, how: 'lost-answer' };
    const tag = `${token} ${new Date(atMs).toISOString()} lost-answer`;
    await withdraw(session, nonce, unknown ? { [TAG_UNSTORED]: tag } : {});
    // A run that announced its creation just before this one may be storing its token right now:
    // give it the time one store write takes before calling the secondary anybody else's.
    for (let look = 0; ; look++) {
      const again = await session.store.read(secretId, { fresh: true });
      const pendingHere = again?.versions.some((v) => v.versionId === token && v.value !== undefined);
      if (pendingHere || again?.tags[TAG_SECONDARY_INTENT])
        return { lost: `another rotator is creating the secondary for rotation ${token}` };
      if (look === SETTLE_LOOKS) break;
      await pause(SETTLE_PAUSE_MS);
    }
    if (!replaceSecondary || round > 0) {
      if (round > 0)
        throw new RotationError(
          session.target.name,
          'start-rotation',
          `a secondary Auth Token appeared again right after it was deleted: ${AGAIN}`,
        );
      const earlier = unknown ? record : obs.unstored;
      return { kept: earlier ? { why: 'ours-lost', ...earlier } : { why: 'foreign' } };
    }
    await refuseIfServed(session, runtime);
    facts.checks.clear();
    await tokens.deleteSecondary();
  }
}

/**
 * Stores the token just made as AWSPENDING of rotation `token`.
 * Leaves: AWSPENDING holding it; or, when another run stored that rotation first, this run's
 * secondary deleted (it holds the value and proves first that it is still the account's secondary).
 */
async function store(
  session: AuthTokenSession,
  runtime: Runtime,
  obs: Observation,
  token: string,
  made: string,
): Promise<Creation> {
  const { target } = session;
  const put = await session.store.putPending(secretIdOf(session), token, valueFor(session, obs, made));
  if (put !== 'token-conflict') return { stored: tokenFingerprint(made) };
  const state = await runtime.tokenVerifier(target).check(target.accountSid, made);
  if (!state.ok || state.primary)
    return { lost: `another rotator stored rotation ${token} first; the secondary this run made is gone already` };
  await (await session.authTokens()).deleteSecondary();
  return { lost: `another rotator stored rotation ${token} first; deleted the secondary this run made` };
}

/** The report for a secondary that is kept: whose it probably is, and what a person does. */
export function keptReport(session: AuthTokenSession, kept: KeptSecondary): string {
  const { target } = session;
  const command = `"twilio-key-rotator rotate --target ${target.name} --replace-secondary"`;
  if (kept.why === 'foreign') {
    const what = 'a secondary Auth Token exists that this rotator did not create';
    const how = `on ${target.accountSid}, Twilio refused to make another (70002)`;
    const why = 'its value cannot be read back, so it may be in use and it is kept; nothing was deleted';
    const fix = `find out whose it is; once nobody needs it, delete it in the Console or run ${command}`;
    return `${what} (${how}); ${why}. Fix: ${fix}`;
  }
  const at = new Date(kept.atMs).toISOString();
  const unproven = 'a secondary whose value the rotator does not hold cannot be proven its own';
  const why = `${unproven}: kept; nothing was deleted`;
  const replace = `run ${command} to delete it and start again`;
  const where = `a secondary Auth Token exists on ${target.accountSid}`;
  if (kept.how === 'lost-answer') {
    const attempt = `an attempt to create it (rotation ${kept.rotationId}, ${at}) went unanswered`;
    const whence = `Twilio said one exists right after ${attempt}, so its value was lost`;
    const unless = `unless someone made a secondary on this account at about ${at}, it is that one`;
    return `${where} that is probably this rotator's own: ${whence}. ${why}. Fix: ${unless}: ${replace}`;
  }
  const stopped = `a run of rotation ${kept.rotationId} stopped at ${at} between announcing a creation and storing`;
  const whence = `${stopped} its token, so it may have made this one and lost its value`;
  const ifNobody = `if nobody else made a secondary on this account, it is the rotator's and nobody can use it`;
  const ifSomeone = 'if someone did, find out whose it is first';
  const what = `${where} that may be this rotator's own, or someone else's`;
  return `${what}: ${whence}. ${why}. Fix: ${ifNobody}: ${replace}; ${ifSomeone}`;
}

/**
 * Leaves: rotator:pending-since naming `versionId` and now (the gate counts from it); no intent, no
 * unstored record.
 */
export async function markPending(session: AuthTokenSession, runtime: Runtime, versionId: string): Promise<void> {
  // A creation succeeded, so no secondary was left over from an earlier one: its record goes too.
  await session.store.setTags(secretIdOf(session), {
    [TAG_PENDING_SINCE]: formatStamp(versionId, runtime.now()),
    [TAG_SECONDARY_INTENT]: '',
    [TAG_UNSTORED]: '',
  });
}

/**
 * Moves AWSCURRENT to the promoted version at once (the old primary no longer works anywhere), stamps
 * when, and records the promotion if an earlier step could not.
 * Leaves: the new token AWSCURRENT, the old one AWSPREVIOUS, current-since and the promotion record.
 */
export async function finishPromotion(
  session: AuthTokenSession,
  runtime: Runtime,
  from: string,
  to: string,
): Promise<void> {
  const secretId = secretIdOf(session);
  await session.store.setTags(secretId, { [TAG_PROMOTED]: formatPromotion(from, to) });
  await session.store.promote(secretId, to);
  await session.store.setTags(secretId, { [TAG_CURRENT_SINCE]: formatStamp(to, runtime.now()) });
}

/**
 * Records the promotion, proves the pending token is still the account's secondary, asks Twilio to
 * promote the secondary (the old primary dies at once), then finishes the labels, and the other
 * admin secrets that held the old token, in the same step. A promotion Twilio cannot make (no
 * secondary), or of a secondary that is no longer the pending token ('gone'), changes nothing.
 *
 * The proof is asked of Twilio right before Promote, after the gate's probes: a secondary swapped in
 * meanwhile makes the pending token fail it. Twilio's Promote names no token, so a swap in the
 * milliseconds between that check and Promote cannot be excluded; Promote's answer then shows it
 * (`other`), and the only working token is stored so nothing is locked out.
 * Leaves: as finishPromotion, or (no secondary, gone) the record of an intended promotion only.
 */
export async function promote(
  session: AuthTokenSession,
  runtime: Runtime,
  facts: RunFacts,
  pending: TokenVersion,
  from: string,
  oldToken: string,
): Promise<'promoted' | 'no-secondary' | 'gone' | { other: string }> {
  const secretId = secretIdOf(session);
  const { target } = session;
  // Other admin secrets holding the token about to die get the new one in this same step.
  const copies = await copiesHolding(session, runtime, oldToken);
  await session.store.setTags(secretId, { [TAG_PROMOTED]: formatPromotion(from, pending.versionId) });
  const tokens = await session.authTokens();
  facts.checks.clear();
  // Working and not the primary: the pending token is the account's one secondary, so Promote acts on it.
  const now = await runtime.tokenVerifier(target).check(target.accountSid, pending.token);
  if (!now.ok && !now.definitive)
    throw new RotationError(
      target.name,
      'promote',
      `could not ask Twilio whether ${pending.ref} is still the secondary (${now.reason}); nothing was promoted`,
    );
  if (!now.ok) return 'gone';
  if (now.primary) {
    await finishPromotion(session, runtime, from, pending.versionId);
    await refreshCopies(session, runtime, copies, pending.token);
    return 'promoted';
  }
  let promoted: Awaited<ReturnType<typeof tokens.promote>>;
  try {
    promoted = await tokens.promote();
  } catch (err) {
    // The old token this run authenticates with died: another run may have promoted this very token.
    if (!refusedSelf(session, err)) throw err;
    promoted = 'no-secondary';
  }
  if (promoted === 'no-secondary') {
    // Another run may have promoted it a moment ago: then the pending token is the primary now.
    const now = await runtime.tokenVerifier(session.target).check(session.target.accountSid, pending.token);
    if (!now.ok || !now.primary) return promoted;
    await finishPromotion(session, runtime, from, pending.versionId);
    await refreshCopies(session, runtime, copies, pending.token);
    return 'promoted';
  }
  if (promoted.token !== pending.token) {
    // Twilio promoted a secondary that is not the one stored: the only working token is the one just
    // returned. Keep it, so nothing is locked out, and let a person find out who made the other one.
    const versionId = randomUUID();
    await session.store.putCurrent(
      secretId,
      versionId,
      nextAuthTokenValue(pending.document, { accountSid: session.target.accountSid, authToken: promoted.token }),
    );
    await session.store.abandonPending(secretId, pending.versionId);
    return { other: tokenFingerprint(promoted.token) };
  }
  await finishPromotion(session, runtime, from, pending.versionId);
  await refreshCopies(session, runtime, copies, pending.token);
  return 'promoted';
}

/**
 * The other admin secrets that held the retired token get the new one, keeping their other fields,
 * so no target of this configuration is locked out. Leaves: a new AWSCURRENT in each.
 */
export async function refreshCopies(
  session: AuthTokenSession,
  runtime: Runtime,
  locations: readonly SecretLocation[],
  token: string,
): Promise<string[]> {
  const done: string[] = [];
  for (const location of locations) {
    const store = runtime.store(location.store);
    const secret = await store.read(location.secretId);
    const current = secret?.versions.find((v) => v.stages.includes('AWSCURRENT'));
    if (!current) continue;
    const document = parseSecretObject(
      { secretId: location.secretId, versionId: current.versionId, stage: 'AWSCURRENT' },
      current.value,
      current.binary,
    );
    await store.putCurrent(location.secretId, randomUUID(), JSON.stringify({ ...document, authToken: token }));
    done.push(`"${location.secretId}" (${location.store})`);
  }
  return done;
}

/** Carries out one step of the reconcile. */
export async function act(
  step: Step,
  obs: Observation,
  session: AuthTokenSession,
  runtime: Runtime,
  facts: RunFacts,
  settings: PlannerSettings,
): Promise<ActResult> {
  const secretId = secretIdOf(session);
  switch (step.kind) {
    case 'start-rotation': {
      const made = await createSecondary(session, runtime, obs, facts, step.versionId, settings.replaceSecondary);
      if ('lost' in made) return { detail: made.lost, end: { kind: 'lost-race', detail: made.lost } };
      if ('kept' in made) {
        const error = keptReport(session, made.kept);
        return { detail: error, end: { kind: 'failed', step: step.kind, error, reason: 'foreign-secondary' } };
      }
      const stored = `stored it as AWSPENDING (version ${step.versionId})`;
      return {
        detail: `created a secondary Auth Token ${made.stored} because ${step.reason}; ${stored}`,
        startedRotation: true,
        createdVersion: step.versionId,
      };
    }
    case 'abandon-creation': {
      // Its run stopped (or Twilio never answered it): whether it made a secondary is unknown, and a
      // secondary whose value is lost cannot be proven this rotator's, so nothing is deleted. The
      // record only words the report should a later creation meet one.
      const at = new Date(step.atMs).toISOString();
      await session.store.setTags(secretId, {
        [TAG_SECONDARY_INTENT]: '',
        [TAG_UNSTORED]: `${step.rotationId} ${at} stopped`,
      });
      const what = `a secondary announced for rotation ${step.rotationId} at ${at} was never stored`;
      return { detail: `${what}; if it was made, its value is lost and it is kept (never deleted); wrote it off` };
    }
    case 'clear-pending-label':
      await session.store.abandonPending(secretId, step.versionId);
      return { detail: `version ${step.versionId} is current; took off the AWSPENDING label a promotion left on it` };
    case 'drop-dead-pending':
      await session.store.abandonPending(secretId, step.versionId);
      return {
        detail: `the pending token ${step.ref} (version ${step.versionId}) no longer works: ${SECONDARY_GONE}`,
      };
    case 'mark-pending':
      await markPending(session, runtime, step.versionId);
      return { detail: `the pending token ${step.ref} authenticates; the consumer gate counts from now` };
    case 'promote': {
      const outcome = await promote(session, runtime, facts, obs.pending!, step.fromVersionId, obs.current!.token);
      if (outcome === 'no-secondary' || outcome === 'gone') {
        // An `abort` deletes the secondary, then drops AWSPENDING: give one that is under way the
        // time to finish before calling the deletion someone else's.
        for (let look = 0; look <= SETTLE_LOOKS; look++) {
          const again = await session.store.read(secretId, { fresh: true });
          const stillPending = again?.versions.some(
            (v) => v.versionId === step.versionId && v.stages.includes(PENDING),
          );
          if (!stillPending) {
            const what = 'the rotation was backed out (abort) before its promotion';
            const detail = `${what}: ${step.ref} was deleted and AWSPENDING dropped; ${STAYS_PRIMARY}`;
            return { detail, end: { kind: 'lost-race', detail } };
          }
          if (look < SETTLE_LOOKS) await pause(SETTLE_PAUSE_MS);
        }
        const gone = `the pending token ${step.ref} stopped working right before its promotion`;
        const why = "the account's secondary was deleted or replaced outside the rotator";
        const kept = 'Nothing was promoted; the current token stays the primary and the next run drops the pending one';
        const none = `Twilio has no secondary token to promote (404/20404): ${step.ref} was deleted outside`;
        const error =
          outcome === 'gone'
            ? `${gone}: ${why}. ${kept}`
            : `${none} the rotator; the current token keeps working and the next run starts over`;
        return { detail: error, end: { kind: 'failed', step: step.kind, error } };
      }
      if (typeof outcome === 'object') {
        const what = `Twilio promoted a secondary token (${outcome.other}) that is not the pending ${step.ref}`;
        const error = `${what}; ${STORED_AS_CURRENT}. Another process is rotating this account's token: find it`;
        return { detail: error, end: { kind: 'failed', step: step.kind, error } };
      }
      return { detail: `promoted ${step.ref} to primary on Twilio and to AWSCURRENT; the old token stopped working` };
    }
    case 'finish-promotion':
      await finishPromotion(session, runtime, step.fromVersionId, step.versionId);
      return { detail: `Twilio had already promoted ${step.ref}; moved AWSCURRENT to version ${step.versionId}` };
    case 'mark-current':
      await session.store.setTags(secretId, { [TAG_CURRENT_SINCE]: formatStamp(step.versionId, runtime.now()) });
      return {
        detail: `recorded version ${step.versionId} as current since now; the propagation delay counts from here`,
      };
    case 'refresh-copies': {
      const done = await refreshCopies(session, runtime, step.locations, obs.current!.token);
      return { detail: `stored the new token in the admin secret(s) that held the old one: ${done.join(', ')}` };
    }
    case 'settle':
      await session.store.setTags(secretId, { [TAG_SETTLED]: step.versionId });
      return {
        detail: `the promotion took: ${step.ref} works and the old token is refused`,
        completedRotation: true,
      };
  }
}
