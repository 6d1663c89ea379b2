import { randomUUID } from 'node:crypto';
import type { RotatorConfig, StoreName } from '../config/types.js';
import { CURRENT, PENDING } from '../core/labels.js';
import { parseAdminCredential } from '../core/secret-values.js';
import { kindOf } from '../credentials/registry.js';
import { SecretShapeError, UsageError } from '../errors.js';
import { registerSecretText } from '../redact.js';
import type { Runtime } from '../core/runtime.js';

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
 * `secret put`: stores a value the configuration uses — a target's admin credential or the key it
 * rotates — after checking it has the documented shape, so nobody hand-edits JSON files. The value
 * comes from stdin (never argv, which other users can read); it is never printed. A current value is
 * replaced only with `replace`, and never while a rotation is in progress.
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
    (t) => t.admin.store === storeName && t.admin.secretId === secretId,
  );
  const rotated = config.targets.find((t) => t.secret.store === storeName && t.secret.secretId === secretId);
  if (admins.length === 0 && !rotated) {
    const names = config.targets.flatMap((t) =>
      [t.secret, t.admin].filter((l) => l.store === storeName).map((l) => `"${l.secretId}"`),
    );
    throw new UsageError(
      `no target uses secret "${secretId}" in the ${storeName} store; secret put stores only what targets[].secret or targets[].admin name${names.length > 0 ? ` (here: ${[...new Set(names)].join(', ')})` : ''}`,
    );
  }

  const source = { secretId, stage: 'stdin' };
  let shape: string;
  try {
    if (rotated) {
      shape = kindOf(rotated).describeValue(value, source, rotated);
    } else {
      const admin = parseAdminCredential(source, value);
      shape =
        admin.kind === 'auth-token'
          ? `Auth Token of ${admin.accountSid}`
          : `admin key ${admin.username} of ${admin.accountSid}`;
      const fleet = config.fleets.find((f) => f.admin.store === storeName && f.admin.secretId === secretId);
      if (
        fleet &&
        (admin.kind !== 'auth-token' || admin.accountSid.toUpperCase() !== fleet.parentAccountSid.toUpperCase())
      )
        throw new UsageError(
          `fleet "${fleet.name}" needs the parent's Account SID + Auth Token here ({"accountSid": "${fleet.parentAccountSid}", "authToken": "…"}): Twilio lets no API key reach a subaccount; nothing was stored`,
        );
      shape += ` (admin of ${admins.map((t) => `"${t.name}"`).join(', ')})`;
    }
  } catch (err) {
    if (err instanceof SecretShapeError) throw new UsageError(`${err.message}; nothing was stored`);
    throw err;
  }

  const store = runtime.store(storeName);
  const existing = await store.read(secretId);
  const current = existing?.versions.find((v) => v.stages.includes(CURRENT));
  const versionId = randomUUID();
  if (!current) {
    if ((await store.create(secretId, versionId, value)) === 'token-conflict') {
      throw new UsageError(`secret "${secretId}" changed while this command ran; run it again`);
    }
    return { secretId, store: storeName, versionId, shape, replaced: false };
  }
  if (!request.replace) {
    throw new UsageError(
      `secret "${secretId}" already has a current value (version ${current.versionId}); pass --replace to store a new one (the old one stays as AWSPREVIOUS)`,
    );
  }
  if (existing?.versions.some((v) => v.stages.includes(PENDING) && !v.stages.includes(CURRENT))) {
    throw new UsageError(
      `secret "${secretId}" has a rotation in progress (an AWSPENDING version); let it finish, then replace the value`,
    );
  }
  if ((await store.putCurrent(secretId, versionId, value)) === 'token-conflict') {
    throw new UsageError(`secret "${secretId}" changed while this command ran; run it again`);
  }
  return { secretId, store: storeName, versionId, shape, replaced: true };
}
