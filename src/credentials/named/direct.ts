import { claimTags } from '../../core/claim.js';
import { CURRENT, formatStamp, labelled, parseStamp, PENDING, TAG_CURRENT_SINCE } from '../../core/labels.js';
import type { StoredSecret } from '../../core/ports.js';
import type { Runtime } from '../../core/runtime.js';
import { RotationError, SecretShapeError } from '../../errors.js';
import type { RotationView } from '../kind.js';
import type { Observation, Step } from './observation.js';
import type { NamedPort, NamedSession } from './port.js';
import { promoteVersion } from './steps.js';
import { plannerRotation } from './table.js';

/**
 * testSecret and finishSecret in their plain case, as AWS's template runs them: the token's pending
 * value proven with itself, then (finishSecret) promoted. No admin secret, no key list, no look, so a
 * fresh process makes 3 calls for testSecret and 7 for finishSecret instead of 6 and 10.
 *
 * What the look would add here changes nothing it may do. Its promotion rests on the same facts: the
 * version is the event's token, which Secrets Manager made for this rotation and createSecret filled
 * after a whole look, AWSPENDING and not AWSCURRENT in the labels just read, beside the AWSCURRENT
 * version the rotator promoted itself (its current-since stamp; a current a person put there since
 * goes to the look, which refuses an admin credential or a value it cannot read), holding a credential
 * of this target's account that works now under that account's path (`verifyAlone` gives only such a
 * verification, so it is on the account's list). Nothing is deleted here: a credential that is not
 * proven (refused, Twilio unreachable) sends the event to the whole look, which deletes it only when its
 * name proves it is this target's; Twilio unreachable fails the event, as there. An orphan is left to
 * the next look that sweeps; an old credential is never retired here.
 */

/** The token's version when it is plainly pending beside a current one, with its credential parsed. */
function plainPending<S extends NamedSession>(
  port: NamedPort<S>,
  secret: StoredSecret,
  token: string,
  target: S['target'],
) {
  const version = secret.versions.find((v) => v.versionId === token);
  const current = labelled(secret, CURRENT);
  if (!version?.stages.includes(PENDING) || version.stages.includes(CURRENT) || version.value === undefined)
    return undefined;
  // AWSCURRENT must be the version this rotator promoted and stamped: one a person put or moved there
  // since (an admin key, another account's, a value the look cannot read) goes to the look, which refuses.
  if (!current || parseStamp(secret.tags[TAG_CURRENT_SINCE], current.versionId) === undefined) return undefined;
  try {
    const source = { secretId: secret.secretId, versionId: token, stage: PENDING };
    const { key } = port.parse(source, version.value, version.binary);
    if (key.accountSid.toUpperCase() !== target.accountSid.toUpperCase()) return undefined;
    return { key, createdAtMs: version.createdAtMs, fromVersionId: current.versionId };
  } catch (err) {
    // The look fails on it, naming the field.
    if (err instanceof SecretShapeError) return undefined;
    throw err;
  }
}

/**
 * The planner's Secrets Manager view (./table.ts), with testSecret and finishSecret carried out directly
 * for a target whose credential the port proves alone (`verifyAlone`); the view as it is for the others.
 */
export function directRotation<S extends NamedSession>(
  port: NamedPort<S>,
): RotationView<Step, Observation, S['target']> {
  type Pending = NonNullable<ReturnType<typeof plainPending<S>>>;
  type Then = (pending: Pending, token: string, runtime: Runtime) => string | Promise<string>;
  /**
   * The event carried out by `then` on the pending credential, when it is plain and works. Twilio
   * unreachable fails the event, as the look's `verify-pending` does (Secrets Manager retries); a refusal
   * goes to the look, which withdraws it.
   */
  const whenProven = (target: S['target'], then: Then) => {
    const verify = port.verifyAlone?.(target);
    return (
      verify &&
      (async (secret: StoredSecret, token: string, runtime: Runtime) => {
        const pending = plainPending(port, secret, token, target);
        if (!pending) return undefined;
        const result = await verify(runtime, pending.key);
        if (result.ok) return then(pending, token, runtime);
        if (result.definitive) return undefined;
        const did = `${port.noun} ${pending.key.apiKeySid} did not verify (${result.reason})`;
        const why = 'Twilio could not be asked; nothing was changed, and Secrets Manager retries';
        throw new RotationError(target.name, 'verify-pending', `${did}: ${why}`);
      })
    );
  };
  const works = (sid: string) => `${port.noun} ${sid} ${port.works}`;
  return {
    ...plannerRotation,
    testSecret: {
      ...plannerRotation.testSecret,
      direct: (target) => whenProven(target, (pending, token) => `version ${token}: ${works(pending.key.apiKeySid)}`),
    },
    finishSecret: {
      ...plannerRotation.finishSecret,
      direct: (target) =>
        whenProven(target, async (pending, token, runtime) => {
          // What promote and mark-current write (./steps.ts), in their order.
          const { secretId } = target.secret;
          const store = runtime.store(target.secret.store);
          const ref = pending.key.apiKeySid;
          const claim = claimTags({ versionId: token, ref, createdAtMs: pending.createdAtMs }, {});
          const step = { fromVersionId: pending.fromVersionId, versionId: token };
          if (!(await promoteVersion(store, secretId, step, runtime, claim)))
            await store.setTags(secretId, { [TAG_CURRENT_SINCE]: formatStamp(token, runtime.now()), ...claim });
          const promoted = `promoted it to AWSCURRENT (the old current is AWSPREVIOUS), current since now`;
          return `version ${token}: ${works(ref)}; ${promoted}`;
        }),
    },
  };
}
