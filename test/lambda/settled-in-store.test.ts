import { describe, expect, it } from 'vitest';
import { formatStamp, TAG_CURRENT_SINCE } from '../../src/core/labels.js';
import type { StoredSecret, StoredVersion } from '../../src/core/ports.js';
import { authToken } from '../../src/credentials/auth-token/module.js';
import type { RotationEventName } from '../../src/credentials/kind.js';
import { plannerRotation } from '../../src/credentials/named/table.js';

/**
 * The rotation protocol's prologue (each view's `settled`, src/credentials/settled.ts): what the
 * secret alone proves an event left behind, for API keys and OAuth apps (the named view) and the
 * Auth Token alike. It may only ever end an event with "nothing to do"; everything it does not prove
 * goes to the whole look.
 */

const TOKEN = '11111111-2222-4333-8444-555555555555';
const OLD = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
const STEPS: RotationEventName[] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];

function secret(token: Partial<StoredVersion>, tags: Record<string, string> = {}): StoredSecret {
  const versions: StoredVersion[] = [
    { versionId: OLD, stages: ['AWSCURRENT'], createdAtMs: 1, value: '{"old":1}' },
    { versionId: TOKEN, stages: ['AWSPENDING'], createdAtMs: 2, ...token },
  ];
  if (token.stages?.includes('AWSCURRENT')) versions[0]!.stages = ['AWSPREVIOUS'];
  return { secretId: 's', identity: 'arn:s', versions, allVersionIds: [OLD, TOKEN], tags };
}

const VIEWS = { named: plannerRotation, 'auth-token': authToken.rotation };

describe.each(Object.entries(VIEWS))('what the secret alone settles (%s)', (_name, view) => {
  const settled = (s: StoredSecret | undefined) => STEPS.filter((step) => view[step].settled?.(s, TOKEN) === true);

  it('proves nothing for a missing version or a missing secret, and only setSecret for a placeholder', () => {
    // setSecret sets nothing (a Twilio credential is live when made): the token staged is all it needs.
    expect(settled(secret({}))).toEqual(['setSecret']);
    expect(settled(secret({ binary: true }))).toEqual(['setSecret']);
    expect(settled(secret({ value: '{}', stages: [] }))).toEqual([]);
    expect(settled(undefined)).toEqual([]);
    const other = secret({ value: '{}' });
    other.versions[1]!.versionId = OLD.replace('a', 'f');
    expect(settled(other)).toEqual([]);
  });

  it('proves createSecret by a value in the pending version, setSecret by its label, never the others', () => {
    expect(settled(secret({ value: '{}' }))).toEqual(['createSecret', 'setSecret']);
  });

  it('proves finishSecret only once the token is current, stamped and no longer pending', () => {
    const stamped = { [TAG_CURRENT_SINCE]: formatStamp(TOKEN, 1_000) };
    expect(settled(secret({ value: '{}', stages: ['AWSCURRENT'] }, stamped))).toEqual(STEPS);
    // Killed between moving AWSCURRENT and removing AWSPENDING, or before the stamp: finishSecret goes on.
    const earlier = STEPS.slice(0, 3);
    expect(settled(secret({ value: '{}', stages: ['AWSCURRENT', 'AWSPENDING'] }, stamped))).toEqual(earlier);
    expect(settled(secret({ value: '{}', stages: ['AWSCURRENT'] }))).toEqual(earlier);
    const stampOfAnother = { [TAG_CURRENT_SINCE]: formatStamp(OLD, 1_000) };
    expect(settled(secret({ value: '{}', stages: ['AWSCURRENT'] }, stampOfAnother))).toEqual(earlier);
  });
});
