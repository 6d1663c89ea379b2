import type { SecretLocation, TargetConfig } from '../config/types.js';
import { CURRENT, PENDING, PREVIOUS, type SecretStore, type StoredSecret, type TwilioKey } from '../core/ports.js';
import { ownerFingerprint } from '../core/rotation-id.js';
import {
  keySidsIn,
  parseAdminCredential,
  parseApiKeySecret,
  SecretShapeError,
  type AdminCredential,
} from '../core/secret-shapes.js';
import type { LabelledKey, Observation, UnreadableVersion } from '../core/state.js';
import { RotationError } from '../errors.js';

export async function readAdmin(
  store: SecretStore,
  target: string,
  location: SecretLocation,
): Promise<AdminCredential> {
  const secret = await store.read(location.secretId);
  const version = secret?.versions.find((v) => v.stages.includes(CURRENT));
  if (version?.value === undefined) {
    throw new RotationError(
      target,
      'read-admin',
      `admin secret "${location.secretId}" (${location.store} store) does not exist or has no current value; store {"accountSid": "AC…", "authToken": "…"}, {"accountSid", "adminKeySid", "adminKeySecret"}, or a Restricted admin key with /twilio/iam/api-keys/* (twilio-key-rotator secret put ${location.secretId} --store ${location.store})`,
    );
  }
  return parseAdminCredential(
    { secretId: location.secretId, versionId: version.versionId, stage: CURRENT },
    version.value,
  );
}

/** The key in one labelled version; throws SecretShapeError naming secret, stage, version and field. */
function labelled(secret: StoredSecret, stage: string, target: TargetConfig): LabelledKey | undefined {
  const version = secret.versions.find((v) => v.stages.includes(stage));
  if (!version) return undefined;
  const source = { secretId: secret.secretId, versionId: version.versionId, stage };
  const key = parseApiKeySecret(source, version.value);
  if (key.accountSid.toUpperCase() !== target.accountSid.toUpperCase()) {
    throw new SecretShapeError(
      source,
      'accountSid',
      `is ${key.accountSid}, but target "${target.name}" rotates keys of ${target.accountSid}; fix the target's accountSid or the secret`,
    );
  }
  const { document, ...fields } = key;
  return { versionId: version.versionId, createdAtMs: version.createdAtMs, key: fields, document };
}

/**
 * One look at the world: the secret's labelled versions and the account's complete key list.
 * An unreadable AWSCURRENT or AWSPENDING stops the run (nothing can be decided safely); an unreadable
 * AWSPREVIOUS is recorded, and whatever key it may hold is treated as in use.
 */
export async function observe(
  store: SecretStore,
  listKeys: () => Promise<TwilioKey[]>,
  target: TargetConfig,
  context: {
    nowMs: number;
    verified: ReadonlySet<string>;
    protectedSids: ReadonlySet<string>;
    currentRefused?: { keySid: string; reason: string };
  },
): Promise<Observation> {
  const secret = await store.read(target.secret.secretId);
  const keys = await listKeys();
  const obs: Observation = {
    nowMs: context.nowMs,
    secretId: target.secret.secretId,
    secret,
    keys,
    verified: context.verified,
    protectedSids: context.protectedSids,
    unreadable: [],
    ...(context.currentRefused !== undefined ? { currentRefused: context.currentRefused } : {}),
  };
  if (!secret) return obs;
  obs.fingerprint = ownerFingerprint(target.accountSid, secret.identity);
  const current = labelled(secret, CURRENT, target);
  if (current) obs.current = current;

  const unreadable: UnreadableVersion[] = [];
  try {
    const previous = labelled(secret, PREVIOUS, target);
    if (previous) obs.previous = previous;
  } catch (err) {
    if (!(err instanceof SecretShapeError)) throw err;
    const version = secret.versions.find((v) => v.stages.includes(PREVIOUS))!;
    const problem = err.message.slice(err.message.indexOf(': ') + 2);
    unreadable.push({ stage: PREVIOUS, versionId: version.versionId, sids: keySidsIn(version.value), problem });
  }
  obs.unreadable = unreadable;

  const placeholder = secret.versions.find(
    (v) => v.stages.includes(PENDING) && v.value === undefined && !v.stages.includes(CURRENT),
  );
  if (placeholder) {
    obs.pendingPlaceholder = { versionId: placeholder.versionId, createdAtMs: placeholder.createdAtMs };
    return obs;
  }
  const pending = labelled(secret, PENDING, target);
  if (pending && pending.versionId !== current?.versionId) obs.pending = pending;
  return obs;
}
