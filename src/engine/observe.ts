import type { TargetConfig } from '../config/types.js';
import { CURRENT, PENDING, PREVIOUS, type SecretStore, type StoredSecret, type TwilioKey } from '../core/ports.js';
import {
  parseAdminCredential,
  parseApiKeySecret,
  SecretShapeError,
  type AdminCredential,
} from '../core/secret-shapes.js';
import type { LabelledKey, Observation } from '../core/state.js';
import { RotationError } from '../errors.js';

export async function readAdmin(store: SecretStore, target: TargetConfig): Promise<AdminCredential> {
  const secretId = target.admin.secretId;
  const secret = await store.read(secretId);
  const value = secret?.versions.find((v) => v.stages.includes(CURRENT))?.value;
  if (value === undefined) {
    throw new RotationError(
      target.name,
      'read-admin',
      `admin secret "${secretId}" (${target.admin.store} store) does not exist or has no current value; store {"accountSid": "AC…", "authToken": "…"}, {"accountSid", "adminKeySid", "adminKeySecret"}, or a Restricted admin key with /twilio/iam/api-keys/*`,
    );
  }
  return parseAdminCredential(secretId, value);
}

function labelled(secret: StoredSecret, stage: string, target: TargetConfig): LabelledKey | undefined {
  const version = secret.versions.find((v) => v.stages.includes(stage));
  if (!version) return undefined;
  if (version.value === undefined)
    throw new SecretShapeError(secret.secretId, `${stage} version ${version.versionId}`, 'has no string value');
  let key;
  try {
    key = parseApiKeySecret(secret.secretId, version.value);
  } catch (err) {
    if (err instanceof SecretShapeError)
      throw new SecretShapeError(
        secret.secretId,
        `${stage}.${err.field}`,
        err.message.replace(/^secret "[^"]*": \S+ /, ''),
      );
    throw err;
  }
  if (key.accountSid.toUpperCase() !== target.accountSid.toUpperCase()) {
    throw new SecretShapeError(
      secret.secretId,
      `${stage}.accountSid`,
      `is ${key.accountSid}, but target "${target.name}" rotates keys of ${target.accountSid}; fix the target's accountSid or the secret`,
    );
  }
  return { versionId: version.versionId, createdAtMs: version.createdAtMs, key };
}

/** One look at the world: the secret's labelled versions and the account's complete key list. */
export async function observe(
  store: SecretStore,
  listKeys: () => Promise<TwilioKey[]>,
  target: TargetConfig,
  nowMs: number,
  verified: ReadonlySet<string>,
): Promise<Observation> {
  const secret = await store.read(target.secret.secretId);
  const keys = await listKeys();
  const obs: Observation = { nowMs, secretId: target.secret.secretId, secret, keys, verified };
  if (!secret) return obs;
  const current = labelled(secret, CURRENT, target);
  let previous: LabelledKey | undefined;
  try {
    previous = labelled(secret, PREVIOUS, target);
  } catch {
    // A previous version we cannot read is not ours to retire; the planner simply ignores it.
    previous = undefined;
  }
  const base = { ...obs, ...(current ? { current } : {}), ...(previous ? { previous } : {}) };
  const placeholder = secret.versions.find(
    (v) => v.stages.includes(PENDING) && v.value === undefined && !v.stages.includes(CURRENT),
  );
  if (placeholder) return { ...base, pendingPlaceholder: placeholder.versionId };
  const pending = labelled(secret, PENDING, target);
  return { ...base, ...(pending && pending.versionId !== current?.versionId ? { pending } : {}) };
}
