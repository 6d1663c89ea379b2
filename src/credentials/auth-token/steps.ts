import { randomBytes, randomUUID } from 'node:crypto';
import type { SecretLocation } from '../../core/target.js';
import { CURRENT, formatPromotion, formatStamp, labelled, PENDING, TAG_CURRENT_SINCE } from '../../core/labels.js';
import { TAG_PROMOTED } from '../../core/labels.js';
import type { Runtime } from '../../core/runtime.js';
import { parseSecretObject } from '../../core/secret-values.js';
import { RemoteError, RotationError, SecretShapeError } from '../../errors.js';
import type { ActResult, StepSpec, StepTable } from '../kind.js';
import { copiesHolding, tokenVersion, type AuthTokenSession } from './observe.js';
import {
  TAG_PENDING_SINCE,
  TAG_SECONDARY_INTENT,
  TAG_SETTLED,
  TAG_UNSTORED,
  type Observation,
  type PlannerSettings,
  type Step,
  type TokenVersion,
  type Unstored,
} from './observation.js';
import { nextAuthTokenValue, tokenFingerprint } from './shape.js';

/**
 * Each step of the Auth Token flow, declared once: how it acts, its words (dry run, status), and its
 * properties. The reconcile loop, the dry run and Secrets Manager's protocol all run these.
 */

export type Settings = Omit<PlannerSettings, 'force' | 'emergency' | 'token'>;

const secretIdOf = (session: AuthTokenSession) => session.target.secret.secretId;

/**
 * Twilio refused the admin credential. When the target manages itself, that credential is the token
 * this run read: another run promoted a new one since, and this run has lost the race.
 */
export const refusedSelf = (session: AuthTokenSession, err: unknown) =>
  session.target.selfManaged && err instanceof RemoteError && (err.detail.status === 401 || err.detail.status === 403);

/** Looks at the store for a racing run's work, SETTLE_LOOKS more times, SETTLE_PAUSE_MS apart. */
const SETTLE_LOOKS = 3;
const SETTLE_PAUSE_MS = 1000;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A secondary that exists and whose value this rotator does not hold: kept, never deleted. With an
 * unstored record, a creation of this rotator's probably (lost answer) or maybe (its run stopped) made it.
 */
type KeptSecondary = { why: 'foreign' } | ({ why: 'ours-lost' } & Unstored);
type Creation = { stored: string } | { lost: string } | { kept: KeptSecondary };

const AGAIN = 'another process is rotating this account; stop it first';
const STAYS_PRIMARY = 'the current token stays the primary';
const SECONDARY_GONE = 'its secondary was deleted outside the rotator; dropped AWSPENDING';
const STORED_AS_CURRENT = 'it is stored as AWSCURRENT so nothing is locked out';
const SETTLED = 'works and the old token is refused; the rotation is complete';

/** A failure after which Twilio certainly made nothing: a 4xx other than 429. */
const madeNothing = (err: unknown) => {
  const status = err instanceof RemoteError ? err.detail.status : undefined;
  return status !== undefined && status >= 400 && status < 500 && status !== 429;
};

/** Takes back this run's announcement (the one ending in `nonce`), and sets `also` in the same write. */
async function withdraw(session: AuthTokenSession, nonce: string, also: Record<string, string> = {}): Promise<void> {
  const secretId = secretIdOf(session);
  const again = await session.store.read(secretId, { fresh: true });
  const ours = (again?.tags[TAG_SECONDARY_INTENT] ?? '').endsWith(` ${nonce}`);
  if (ours || Object.keys(also).length > 0)
    await session.store.setTags(secretId, { ...(ours ? { [TAG_SECONDARY_INTENT]: '' } : {}), ...also });
}

/**
 * Refuses (throws, nothing deleted) when the account's secondary is a token the target's own secret
 * serves: AWSCURRENT or AWSPENDING works and is not the primary. Asked of Twilio now, not from memory.
 */
async function refuseIfServed(session: AuthTokenSession, runtime: Runtime): Promise<void> {
  const { target } = session;
  const secret = await session.store.read(secretIdOf(session), { fresh: true });
  for (const stage of [CURRENT, PENDING]) {
    let version: TokenVersion | undefined;
    try {
      version =
        secret && labelled(secret, stage)?.value !== undefined ? tokenVersion(secret, stage, target) : undefined;
    } catch (err) {
      if (!(err instanceof SecretShapeError)) throw err; // a value no token can be read from serves none
    }
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
async function createSecondary(
  session: AuthTokenSession,
  runtime: Runtime,
  obs: Observation,
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
    // A creation changes nothing about the tokens this run has checked: their answers stay.
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
    if (typeof made === 'object') return store(session, runtime, obs, token, made.token, nonce);

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
    if (round > 0) {
      const why = `a secondary Auth Token appeared again right after it was deleted: ${AGAIN}`;
      throw new RotationError(session.target.name, 'start-rotation', why);
    }
    if (!replaceSecondary) {
      const earlier = unknown ? record : obs.unstored;
      return { kept: earlier ? { why: 'ours-lost', ...earlier } : { why: 'foreign' } };
    }
    await refuseIfServed(session, runtime);
    session.facts.checks.clear();
    await tokens.deleteSecondary();
  }
}

/**
 * Stores the token just made as AWSPENDING of rotation `token`.
 * Leaves: AWSPENDING holding it; or, when another run stored that rotation first or the store failed,
 * this run's secondary deleted (it holds the value and proves first that it is still the secondary).
 */
async function store(
  session: AuthTokenSession,
  runtime: Runtime,
  obs: Observation,
  token: string,
  made: string,
  nonce: string,
): Promise<Creation> {
  const { target } = session;
  const value = nextAuthTokenValue(obs.current?.document, {
    accountSid: target.accountSid,
    authToken: made,
    ...(target.validationUrl ? { validationUrl: target.validationUrl } : {}),
  });
  // Still the account's secondary (it works and is not the primary): this run made it and holds it.
  const dropMade = async () => {
    const state = await runtime.tokenVerifier(target).check(target.accountSid, made);
    if (!state.ok || state.primary) return false;
    await (await session.authTokens()).deleteSecondary();
    return true;
  };
  let put: Awaited<ReturnType<typeof session.store.putPending>>;
  try {
    put = await session.store.putPending(secretIdOf(session), token, value);
  } catch (err) {
    // The store failed: rather than leave a secondary nobody can read (kept until a person acts), the
    // run deletes the one it made while it still holds its value. Stored after all (a lost answer)?
    // Then the next run finds the pending token refused and drops it; the current token still works.
    if (await dropMade().catch(() => false)) await withdraw(session, nonce).catch(() => undefined);
    throw err;
  }
  if (put !== 'token-conflict') return { stored: tokenFingerprint(made) };
  if (!(await dropMade()))
    return { lost: `another rotator stored rotation ${token} first; the secondary this run made is gone already` };
  return { lost: `another rotator stored rotation ${token} first; deleted the secondary this run made` };
}

/** The report for a secondary that is kept: whose it probably is, and what a person does. */
function keptReport(session: AuthTokenSession, kept: KeptSecondary): string {
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
 * Twilio has promoted `to`: records that and when in one write (the propagation delay and the webhook
 * grace count from it), then moves AWSCURRENT (the old primary no longer works anywhere).
 * Leaves: the new token AWSCURRENT, the old one AWSPREVIOUS, current-since and the promotion record.
 */
async function finishPromotion(session: AuthTokenSession, runtime: Runtime, from: string, to: string): Promise<void> {
  const secretId = secretIdOf(session);
  const since = formatStamp(to, runtime.now());
  await session.store.setTags(secretId, { [TAG_PROMOTED]: formatPromotion(from, to), [TAG_CURRENT_SINCE]: since });
  await session.store.promote(secretId, to);
}

/**
 * Proves the pending token is still the account's secondary, asks Twilio to promote the secondary
 * (the old primary dies at once), then finishes the labels, and the other admin secrets that held the
 * old token, in the same step. A promotion Twilio cannot make (no secondary), or of a secondary that
 * is no longer the pending token ('gone'), changes nothing.
 *
 * The proof is asked of Twilio right before Promote, after the gate's probes: a secondary swapped in
 * meanwhile makes the pending token fail it. Twilio's Promote names no token, so a swap in the
 * milliseconds between that check and Promote cannot be excluded; Promote's answer then shows it
 * (`other`), and the only working token is stored so nothing is locked out.
 */
async function promote(
  session: AuthTokenSession,
  runtime: Runtime,
  pending: TokenVersion,
  from: string,
  oldToken: string,
): Promise<'promoted' | 'no-secondary' | 'gone' | { other: string }> {
  const secretId = secretIdOf(session);
  const { target } = session;
  // Other admin secrets holding the token about to die get the new one in this same step.
  const copies = await copiesHolding(session, runtime, oldToken);
  const tokens = await session.authTokens();
  session.facts.checks.clear();
  const finish = async () => {
    // Twilio just said the pending token is the primary (Promote's answer, or a check after it) and it
    // worked right before: the look after this step takes that answer instead of asking again. The old
    // token is not told by it (it may still be accepted while the promotion propagates): asked apart.
    session.facts.checks.set(pending.token, { ok: true, primary: true });
    await finishPromotion(session, runtime, from, pending.versionId);
    await refreshCopies(runtime, copies, pending.token);
    return 'promoted' as const;
  };
  // Working and not the primary: the pending token is the account's one secondary, so Promote acts on it.
  const now = await runtime.tokenVerifier(target).check(target.accountSid, pending.token);
  if (!now.ok && !now.definitive) {
    const what = `could not ask Twilio whether ${pending.ref} is still the secondary (${now.reason})`;
    throw new RotationError(target.name, 'promote', `${what}; nothing was promoted`);
  }
  if (!now.ok) return 'gone';
  if (now.primary) return finish();
  const promoted = await tokens.promote().catch((err: unknown) => {
    // The old token this run authenticates with died: another run may have promoted this very token.
    if (!refusedSelf(session, err)) throw err;
    return 'no-secondary' as const;
  });
  if (promoted === 'no-secondary') {
    // Another run may have promoted it a moment ago: then the pending token is the primary now.
    const again = await runtime.tokenVerifier(target).check(target.accountSid, pending.token);
    return again.ok && again.primary ? finish() : promoted;
  }
  if (promoted.token === pending.token) return finish();
  // Twilio promoted a secondary that is not the one stored: the only working token is the one just
  // returned. Keep it, so nothing is locked out, and let a person find out who made the other one.
  const value = nextAuthTokenValue(pending.document, { accountSid: target.accountSid, authToken: promoted.token });
  await session.store.putCurrent(secretId, randomUUID(), value);
  await session.store.abandonPending(secretId, pending.versionId);
  return { other: tokenFingerprint(promoted.token) };
}

/**
 * The other admin secrets that held the retired token get the new one, keeping their other fields,
 * so no target of this configuration is locked out. Leaves: a new AWSCURRENT in each.
 */
async function refreshCopies(runtime: Runtime, locations: readonly SecretLocation[], token: string): Promise<string[]> {
  const done: string[] = [];
  for (const location of locations) {
    const store = runtime.store(location.store);
    const current = (await store.read(location.secretId))?.versions.find((v) => v.stages.includes(CURRENT));
    if (!current) continue;
    const source = { secretId: location.secretId, versionId: current.versionId, stage: CURRENT };
    const document = parseSecretObject(source, current.value, current.binary);
    await store.putCurrent(location.secretId, randomUUID(), JSON.stringify({ ...document, authToken: token }));
    done.push(`"${location.secretId}" (${location.store})`);
  }
  return done;
}

/** The promotion did not happen: an abort backed it out, or the secondary went away outside. */
async function notPromoted(
  session: AuthTokenSession,
  step: Extract<Step, { kind: 'promote' }>,
  outcome: 'no-secondary' | 'gone',
): Promise<ActResult> {
  // An `abort` deletes the secondary, then drops AWSPENDING: give one that is under way the time to
  // finish before calling the deletion someone else's.
  for (let look = 0; look <= SETTLE_LOOKS; look++) {
    const again = await session.store.read(secretIdOf(session), { fresh: true });
    if (!again?.versions.some((v) => v.versionId === step.versionId && v.stages.includes(PENDING))) {
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

type Spec<K extends Step['kind']> = StepSpec<Extract<Step, { kind: K }>, Observation, AuthTokenSession, Settings>;

const startRotation: Spec<'start-rotation'> = {
  window: true,
  namesVersion: true,
  async act(step, obs, session, runtime, settings) {
    const made = await createSecondary(session, runtime, obs, step.versionId, settings.replaceSecondary);
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
  },
  describe(d) {
    const what = `create a secondary Auth Token and store it as AWSPENDING (version ${d.versionId})`;
    const unknown = 'Twilio cannot be asked beforehand whether a secondary exists';
    const kept = 'if one exists whose value this tool does not hold, the run stops there and keeps it';
    const replace = "--replace-secondary deletes it, unless the target's own secret serves it";
    return `${what}, because ${d.reason}. ${unknown}: ${kept} (${replace})`;
  },
};

/** Every step, keyed by the planner's name for it (./plan.ts). */
export const steps: StepTable<Step, Observation, AuthTokenSession, Settings> = {
  'start-rotation': startRotation,
  // Deletes nothing, but writes a creation off: it must be decided on the present state.
  'abandon-creation': {
    irreversible: true,
    async act(step, _obs, session) {
      // Whether its run made a secondary is unknown, and one whose value is lost cannot be proven
      // this rotator's: nothing is deleted. The record only words the report should a creation meet one.
      const at = new Date(step.atMs).toISOString();
      const written = { [TAG_SECONDARY_INTENT]: '', [TAG_UNSTORED]: `${step.rotationId} ${at} stopped` };
      await session.store.setTags(secretIdOf(session), written);
      const what = `a secondary announced for rotation ${step.rotationId} at ${at} was never stored`;
      return { detail: `${what}; if it was made, its value is lost and it is kept (never deleted); wrote it off` };
    },
    describe(d) {
      const what = `write off the creation announced for rotation ${d.rotationId} but never stored`;
      return `${what}: a secondary it may have made has a lost value: kept (never deleted) and recorded`;
    },
  },
  'drop-dead-pending': {
    async act(step, _obs, session) {
      await session.store.abandonPending(secretIdOf(session), step.versionId);
      return { detail: `the pending token ${step.ref} (version ${step.versionId}) no longer works: ${SECONDARY_GONE}` };
    },
    describe: (d) => `drop AWSPENDING from version ${d.versionId}: its token ${d.ref} no longer works`,
  },
  'clear-pending-label': {
    async act(step, _obs, session) {
      await session.store.abandonPending(secretIdOf(session), step.versionId);
      return { detail: `version ${step.versionId} is current; took off the AWSPENDING label a promotion left on it` };
    },
    describe: (d) =>
      `take AWSPENDING off version ${d.versionId}, which is already AWSCURRENT (a promotion stopped part-way)`,
  },
  'mark-pending': {
    async act(step, _obs, session, runtime) {
      // A creation succeeded, so no secondary was left over from an earlier one: its record goes too.
      const since = formatStamp(step.versionId, runtime.now());
      const written = { [TAG_PENDING_SINCE]: since, [TAG_SECONDARY_INTENT]: '', [TAG_UNSTORED]: '' };
      await session.store.setTags(secretIdOf(session), written);
      return { detail: `the pending token ${step.ref} authenticates; the consumer gate counts from now` };
    },
    describe: (d) => `record that the pending token ${d.ref} works; the consumer gate counts from now`,
  },
  // The promotion is the moment consumers that have not switched lose the old token.
  promote: {
    window: true,
    irreversible: true,
    async act(step, obs, session, runtime) {
      const outcome = await promote(session, runtime, obs.pending!, step.fromVersionId, obs.current!.token);
      if (outcome === 'no-secondary' || outcome === 'gone') return notPromoted(session, step, outcome);
      if (typeof outcome === 'object') {
        const what = `Twilio promoted a secondary token (${outcome.other}) that is not the pending ${step.ref}`;
        const error = `${what}; ${STORED_AS_CURRENT}. Another process is rotating this account's token: find it`;
        return { detail: error, end: { kind: 'failed', step: step.kind, error } };
      }
      return { detail: `promoted ${step.ref} to primary on Twilio and to AWSCURRENT; the old token stopped working` };
    },
    describe(d, obs) {
      const follows = `AWSCURRENT moves to version ${d.versionId} in the same step`;
      return `promote ${d.ref} on Twilio: ${obs.current?.ref ?? 'the old token'} stops working at once; ${follows}`;
    },
  },
  'finish-promotion': {
    async act(step, _obs, session, runtime) {
      await finishPromotion(session, runtime, step.fromVersionId, step.versionId);
      return { detail: `Twilio had already promoted ${step.ref}; moved AWSCURRENT to version ${step.versionId}` };
    },
    describe: (d) => `move AWSCURRENT to version ${d.versionId}: Twilio already made ${d.ref} the primary`,
  },
  'mark-current': {
    async act(step, _obs, session, runtime) {
      const since = formatStamp(step.versionId, runtime.now());
      await session.store.setTags(secretIdOf(session), { [TAG_CURRENT_SINCE]: since });
      const what = `recorded version ${step.versionId} as current since now`;
      return { detail: `${what}; the propagation delay counts from here` };
    },
    describe: (d) => `record version ${d.versionId} as current since now; the propagation delay counts from here`,
  },
  'refresh-copies': {
    async act(step, obs, _session, runtime) {
      const done = await refreshCopies(runtime, step.locations, obs.current!.token);
      return { detail: `stored the new token in the admin secret(s) that held the old one: ${done.join(', ')}` };
    },
    describe(d) {
      const where = d.locations.map((l) => `"${l.secretId}"`).join(', ');
      return `store the new token in the admin secret(s) that still hold the old one: ${where}`;
    },
  },
  settle: {
    async act(step, _obs, session) {
      await session.store.setTags(secretIdOf(session), { [TAG_SETTLED]: step.versionId });
      const detail = `the promotion took: ${step.ref} works and the old token is refused`;
      return { detail, completedRotation: true };
    },
    describe: (d, _obs, session) =>
      `after the propagation delay (${session.target.propagationDelayMs / 1000} s): ${d.ref} ${SETTLED}`,
  },
};
