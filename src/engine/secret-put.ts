import { randomUUID } from 'node:crypto';
import type { RotatorConfig, StoreName, TargetConfig } from '../config/types.js';
import { CURRENT, PENDING } from '../core/labels.js';
import { keySidsIn, parseAdminCredential } from '../core/secret-values.js';
import { isAccountToken, kindOf } from '../credentials/registry.js';
import { errorMessage, RotationError, SecretShapeError, UsageError } from '../errors.js';
import { redact, registerSecretText } from '../redact.js';
import type { RunScope, Runtime } from '../core/runtime.js';
import { openRun } from './reconcile.js';
import { createRunScope } from './scope.js';

/** Secrets Manager's own limit for a SecretString. */
const MAX_VALUE_BYTES = 65_536;

export interface PutSecretResult {
  secretId: string;
  store: StoreName;
  versionId: string;
  /** What the value was checked as, in words (never the value). */
  shape: string;
  replaced: boolean;
}

/**
 * `secret put`: stores a value the configuration uses (an admin credential, a rotated secret) after
 * checking its shape. From stdin (argv is readable by other users), never printed. A current value is
 * replaced only with `replace`, and never mid-rotation (AWSPENDING, or a consumer gate holding the old
 * credential). Refused: an admin credential in a rotated secret, or of an account nothing here uses.
 */
export async function putSecret(
  config: RotatorConfig,
  runtime: Runtime,
  request: { secretId: string; store: StoreName; value: string; replace: boolean },
): Promise<PutSecretResult> {
  const { secretId, store: storeName } = request;
  registerSecretText(request.value);
  const value = request.value.replace(/\r?\n$/, '');
  if (Buffer.byteLength(value) > MAX_VALUE_BYTES)
    throw new UsageError(`the value on stdin is longer than ${MAX_VALUE_BYTES} bytes, Secrets Manager's limit`);
  if (!config.stores[storeName]) throw new UsageError(`--store ${storeName}: stores.${storeName} is not configured`);

  const admins: { name: string }[] = [...config.targets, ...config.fleets].filter(
    (t) => t.admin?.store === storeName && t.admin.secretId === secretId,
  );
  const rotated = config.targets.find((t) => t.secret.store === storeName && t.secret.secretId === secretId);
  if (admins.length === 0 && !rotated) {
    const names = config.targets.flatMap((t) =>
      [t.secret, t.admin ?? t.secret].filter((l) => l.store === storeName).map((l) => `"${l.secretId}"`),
    );
    const unused = `no target uses secret "${secretId}" in the ${storeName} store`;
    const only = 'secret put stores only what targets[].secret or targets[].admin name';
    const here = names.length > 0 ? ` (here: ${[...new Set(names)].join(', ')})` : '';
    throw new UsageError(`${unused}; ${only}${here}`);
  }

  const source = { secretId, stage: 'stdin' };
  const nothing = 'nothing was stored';
  let shape: string;
  try {
    if (rotated) {
      shape = kindOf(rotated).report.describeValue(value, source, rotated);
    } else {
      const admin = parseAdminCredential(source, value);
      shape = isAccountToken(admin)
        ? `Auth Token of ${admin.accountSid}`
        : `admin key ${admin.username} of ${admin.accountSid}`;
      const accounts = [...config.targets.map((t) => t.accountSid), ...config.fleets.map((f) => f.parentAccountSid)];
      if (!accounts.some((a) => a.toUpperCase() === admin.accountSid.toUpperCase())) {
        const why = `the value is a credential of account ${admin.accountSid}`;
        const unused = 'which no target or fleet of this configuration uses';
        const known = [...new Set(accounts)].join(' or ');
        const fix = `store a credential of ${known} in secret "${secretId}", or fix the accountSid of its targets`;
        throw new UsageError(`${why}, ${unused}; ${fix}; ${nothing}`);
      }
      const fleet = config.fleets.find((f) => f.admin.store === storeName && f.admin.secretId === secretId);
      if (
        fleet &&
        (!isAccountToken(admin) || admin.accountSid.toUpperCase() !== fleet.parentAccountSid.toUpperCase())
      ) {
        const value = `{"accountSid": "${fleet.parentAccountSid}", "authToken": "…"}`;
        const needs = `fleet "${fleet.name}" needs the parent's Account SID + Auth Token here (${value})`;
        throw new UsageError(`${needs}: Twilio lets no API key reach a subaccount; nothing was stored`);
      }
      shape += ` (admin of ${admins.map((t) => `"${t.name}"`).join(', ')})`;
    }
  } catch (err) {
    if (err instanceof SecretShapeError) throw new UsageError(`${err.message}; nothing was stored`);
    throw err;
  }

  const scope = createRunScope(config, runtime);
  if (rotated) await refuseAdminCredential(scope, rotated, secretId, value);

  const store = runtime.store(storeName);
  const existing = await store.read(secretId);
  const current = existing?.versions.find((v) => v.stages.includes(CURRENT));
  const versionId = randomUUID();
  const changed = () => new UsageError(`secret "${secretId}" changed while this command ran; run it again`);
  if (!current) {
    if ((await store.create(secretId, versionId, value)) === 'token-conflict') throw changed();
    return { secretId, store: storeName, versionId, shape, replaced: false };
  }
  if (!request.replace) {
    throw new UsageError(
      `secret "${secretId}" already has a current value (version ${current.versionId}); ` +
        'pass --replace to store a new one (the old one stays as AWSPREVIOUS)',
    );
  }
  if (existing?.versions.some((v) => v.stages.includes(PENDING) && !v.stages.includes(CURRENT))) {
    const what = `secret "${secretId}" has a rotation in progress (an AWSPENDING version)`;
    throw new UsageError(`${what}; let it finish (twilio-key-rotator rotate), then replace the value; ${nothing}`);
  }
  if (rotated) await refuseDuringRotation(scope, runtime, rotated, secretId);
  if ((await store.putCurrent(secretId, versionId, value)) === 'token-conflict') throw changed();
  return { secretId, store: storeName, versionId, shape, replaced: true };
}

/** An admin credential of this configuration in a rotated secret: the target could never rotate it. */
async function refuseAdminCredential(scope: RunScope, target: TargetConfig, secretId: string, value: string) {
  const admins = await scope.protectedSids();
  const sid = keySidsIn(value).find((x) => admins.has(x));
  if (sid === undefined) return;
  const what = `key ${sid} is an admin credential of this configuration (a targets[].admin secret holds it)`;
  const where = `secret "${secretId}" is the one target "${target.name}" rotates`;
  const why = 'the rotator never rotates an admin key, so the target would be stuck';
  const fix = "store the application's own key here (admin credentials go in the targets[].admin secret)";
  throw new UsageError(`${what}, and ${where}: ${why}; ${fix}; nothing was stored`);
}

/** A rotation waiting to retire its old credential (the kind says, from one look): the value must wait. */
async function refuseDuringRotation(scope: RunScope, runtime: Runtime, target: TargetConfig, secretId: string) {
  const { capabilities } = kindOf(target);
  if (!capabilities.replaceBlocked) return;
  let why: string | undefined;
  try {
    const run = await openRun(target, runtime, scope, {});
    why = capabilities.replaceBlocked(await run.kind.observe(run.session, runtime), run.settings);
  } catch (err) {
    const cannot = `cannot tell whether target "${target.name}" has a rotation waiting for its consumer gate`;
    throw new RotationError(
      target.name,
      'secret-put',
      `${cannot} (${redact(errorMessage(err))}); nothing was stored. Fix that and run the command again`,
      { cause: err },
    );
  }
  if (why !== undefined)
    throw new UsageError(`secret "${secretId}" cannot be replaced now: ${why}; nothing was stored`);
}
