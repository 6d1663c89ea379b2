import { CURRENT, PENDING, PREVIOUS } from '../../src/core/labels.js';
import { looksLikeRotatorKeyName } from '../../src/credentials/named/naming.js';
import { createTwilioClient } from './twilio-client.js';
import type { World } from './world.js';

export interface StoredKey {
  accountSid: string;
  apiKeySid: string;
  apiKeySecret: string;
}

/** The keys in a secret's labelled versions, read through the store adapter. */
export async function labelledKeys(world: World, secretId = 'twilio/app') {
  const secret = await world.store().read(secretId);
  const pick = (stage: string) => {
    const v = secret?.versions.find((x) => x.stages.includes(stage));
    return v?.value ? (JSON.parse(v.value) as StoredKey) : undefined;
  };
  return { current: pick(CURRENT), pending: pick(PENDING), previous: pick(PREVIOUS), tags: secret?.tags ?? {} };
}

/** Proves a stored key works by using it through the real SDK against the emulator. */
export async function authenticates(world: World, key: StoredKey | undefined): Promise<boolean> {
  if (!key) return false;
  const client = createTwilioClient(
    { username: key.apiKeySid, password: key.apiKeySecret, accountSid: key.accountSid },
    { baseUrl: world.twilio.url },
  );
  return client.api.v2010
    .accounts(key.accountSid)
    .incomingPhoneNumbers.page({ pageSize: 1 })
    .then(
      () => true,
      () => false,
    );
}

/** Rotator-made keys on Twilio that no labelled version of the secret references. */
export async function unreferencedRotatorKeys(
  world: World,
  prefix: string,
  secretId = 'twilio/app',
): Promise<string[]> {
  const { current, pending, previous } = await labelledKeys(world, secretId);
  const referenced = new Set([current?.apiKeySid, pending?.apiKeySid, previous?.apiKeySid]);
  return world.twilio
    .listKeys()
    .filter((k) => looksLikeRotatorKeyName(k.friendlyName, prefix) && !referenced.has(k.sid))
    .map((k) => k.sid);
}
