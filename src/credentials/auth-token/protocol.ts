import { gateBlockers, observeGate } from '../../core/gate.js';
import { CURRENT, parseStamp, PENDING, recordedPromotion, TAG_CURRENT_SINCE } from '../../core/labels.js';
import type { Runtime } from '../../core/runtime.js';
import { RotationError } from '../../errors.js';
import type { RotationEvent } from '../kind.js';
import { check, observe, type AuthTokenSession } from './observe.js';
import { TAG_PENDING_SINCE, TAG_SETTLED, type RunFacts } from './observation.js';
import { TOKEN_FINGERPRINT } from './shape.js';
import { createSecondary, finishPromotion, keptReport, markPending, promote } from './steps.js';

const GONE = 'the secondary was deleted or replaced outside the rotator';
const SETTLES_IT = 'the scheduled run settles it within the propagation delay, then retry';
const REMOVED_PENDING = 'AWSPENDING was removed, the current token keeps working';
const WILL_RETRY = 'Secrets Manager will retry, and the scheduled run promotes the token once the gate passes';
const STORED_AS_CURRENT = 'it is stored as AWSCURRENT so nothing is locked out';

/**
 * Secrets Manager's rotation protocol for an Auth Token secret, on the same step functions as the
 * scheduled reconcile. createSecret makes the secondary and fills the pending version; testSecret
 * proves it; finishSecret promotes it only once the consumer gate has passed. Until then finishSecret
 * fails, Secrets Manager retries later, and the scheduled run promotes it when the gate passes.
 */
export async function rotationStep(event: RotationEvent, session: AuthTokenSession, runtime: Runtime): Promise<string> {
  const { target } = session;
  const token = event.ClientRequestToken;
  const secretId = target.secret.secretId;
  const fail = (message: string) => new RotationError(target.name, event.Step, message);

  const secret = await session.store.read(secretId);
  const version = secret?.versions.find((v) => v.versionId === token);
  if (!secret || !version) throw fail(`secret version ${token} has no stage for rotation of ${secretId}`);
  if (version.stages.includes(CURRENT)) {
    // A finishSecret that died part-way: whichever step arrives completes it.
    if (version.stages.includes(PENDING) || parseStamp(secret.tags[TAG_CURRENT_SINCE], token) === undefined) {
      const from = secret.versions.find((v) => v.stages.includes('AWSPREVIOUS'))?.versionId ?? token;
      await finishPromotion(session, runtime, from, token);
      return `version ${token} was already AWSCURRENT; completed the promotion an earlier finishSecret began`;
    }
    return `version ${token} is already AWSCURRENT; nothing to do`;
  }
  if (!version.stages.includes(PENDING))
    throw fail(`secret version ${token} is not AWSPENDING for rotation of ${secretId}`);

  const facts: RunFacts = { checks: new Map() };
  const obs = await observe(session, runtime, facts);
  if (!obs.current)
    throw fail(
      `secret ${secretId} holds no current Auth Token to rotate from; store it first (twilio-key-rotator secret put)`,
    );
  const current = obs.current;
  const pending = version.value !== undefined && obs.pending?.versionId === token ? obs.pending : undefined;
  const previous = obs.previous;
  if (
    previous &&
    recordedPromotion(secret, previous.versionId, current.versionId) === true &&
    secret.tags[TAG_SETTLED] !== current.versionId
  ) {
    throw fail(`the previous promotion (to ${current.ref}) has not been checked yet; ${SETTLES_IT}`);
  }

  switch (event.Step) {
    case 'createSecret': {
      if (pending) return `version ${token} already holds the secondary token ${pending.ref}`;
      const made = await createSecondary(session, runtime, obs, facts, token, false);
      if ('kept' in made) throw fail(keptReport(session, made.kept));
      if ('lost' in made) throw fail(made.lost);
      return `created the secondary Auth Token ${made.stored} and stored it in version ${token}`;
    }
    case 'setSecret':
      if (!pending) throw fail(`version ${token} has no token yet; createSecret has not run`);
      return `nothing to set: Twilio activates the secondary token ${pending.ref} when it is created`;
    case 'testSecret': {
      if (!pending) throw fail(`version ${token} has no token yet; createSecret has not run`);
      const result = await check(session, runtime, facts, pending);
      if (!result.ok) {
        await session.store.abandonPending(secretId, token);
        throw fail(`the secondary token ${pending.ref} is refused (${result.reason}); ${REMOVED_PENDING}`);
      }
      if (parseStamp(secret.tags[TAG_PENDING_SINCE], token) === undefined) await markPending(session, runtime, token);
      return `the secondary token ${pending.ref} authenticates; promotion waits for the consumer gate`;
    }
    case 'finishSecret': {
      if (!pending) throw fail(`version ${token} has no token; createSecret has not run`);
      const state = await check(session, runtime, facts, pending);
      if (state.ok && state.primary) {
        await finishPromotion(session, runtime, current.versionId, token);
        return `Twilio had already promoted ${pending.ref}; AWSCURRENT now holds it`;
      }
      let since = parseStamp(secret.tags[TAG_PENDING_SINCE], token);
      if (since === undefined) {
        await markPending(session, runtime, token);
        since = runtime.now();
      }
      const asked = { versionId: token, expect: pending.ref, sinceMs: since };
      const gate = await observeGate(runtime, target, secret, asked, TOKEN_FINGERPRINT);
      const on = gateBlockers(gate, target.gate, {
        nowMs: runtime.now(),
        sinceMs: since,
        expect: pending.ref,
        target: target.name,
      });
      if (on.length > 0) throw fail(`the consumer gate has not passed (${on.join('; ')}); ${WILL_RETRY}`);
      const outcome = await promote(session, runtime, facts, pending, current.versionId, current.token);
      if (outcome === 'no-secondary')
        throw fail(`Twilio has no secondary token to promote: ${pending.ref} was deleted outside the rotator`);
      if (outcome === 'gone')
        throw fail(
          `the pending token ${pending.ref} stopped working right before its promotion (${GONE}); nothing was promoted`,
        );
      if (typeof outcome === 'object')
        throw fail(`Twilio promoted a secondary (${outcome.other}) that is not ${pending.ref}; ${STORED_AS_CURRENT}`);
      return `promoted ${pending.ref}: it is the primary and AWSCURRENT; the old token stopped working`;
    }
    default:
      throw fail(`unknown rotation step "${String(event.Step)}"`);
  }
}
