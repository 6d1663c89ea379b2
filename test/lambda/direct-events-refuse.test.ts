import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CURRENT, formatStamp, PENDING, TAG_CURRENT_SINCE } from '../../src/core/labels.js';
import {
  lambdaContext as context,
  rotationEvent as rotationEventOf,
  startLambdaWorld,
  stopLambdaWorld,
  type Lambda,
} from '../support/lambda.js';
import type { World } from '../support/world.js';

let handler: Lambda['handler'];
let world: World;
const SECRET = 'twilio/app';
const GATE = { minOverlapSeconds: 0, maxWaitSeconds: 3600 };
const ev = (Step: string, token: string) => rotationEventOf(world, SECRET, Step, token);
const stage = (s: string) => {
  const v = world.sm.inspect(SECRET)!.versions.find((x) => x.stages.includes(s));
  return v?.value ? (JSON.parse(v.value) as { apiKeySid: string }) : undefined;
};
/** What the rotator's mark-current leaves on the version it promoted: AWSCURRENT is its own. */
async function stampCurrent(secretId: string): Promise<void> {
  const current = (await world.store().read(secretId))!.versions.find((v) => v.stages.includes(CURRENT))!;
  await world.store().setTags(secretId, { [TAG_CURRENT_SINCE]: formatStamp(current.versionId, Date.now()) });
}
/** Twilio calls of one operation since the last reset. */
const twilioCalls = (operation: string) => world.twilio.controls.log.filter((e) => e.operation === operation).length;

beforeEach(async () => {
  ({ world, handler } = await startLambdaWorld());
  await world.seedAdmin();
});
afterEach(() => stopLambdaWorld(world));

/**
 * testSecret and finishSecret carried out without the look (credentials/named/direct.ts,
 * credentials/auth-token/direct.ts) only where the look would act the same: AWSCURRENT is the version the
 * rotator stamped, and the key's verification proves it is the target account's. Otherwise the look
 * decides, and refuses what it cannot prove.
 */
describe('testSecret and finishSecret without the look, only where the look would act the same', () => {
  it('finishSecret promotes nothing over an admin key a person put in AWSCURRENT after testSecret', async () => {
    await world.seedAdmin('restricted', 'twilio/admin2');
    await world.seedCurrentKey();
    await stampCurrent(SECRET);
    process.env.TWILIO_KEY_ROTATOR_CONFIG = await world.writeConfig([{ adminSecretId: 'twilio/admin2', gate: GATE }]);
    const token = randomUUID();
    world.sm.beginRotation(SECRET, token);
    for (const s of ['createSecret', 'setSecret']) await handler(ev(s, token), context());
    world.resetLogs();
    await handler(ev('testSecret', token), context());
    // AWSCURRENT was the rotator's own: testSecret took the direct path (no key list).
    expect(twilioCalls('ListKeys')).toBe(0);
    const adminV = (await world.store().read('twilio/admin2'))!.versions.find((v) => v.stages.includes(CURRENT))!;
    const admin = JSON.parse(adminV.value!) as { apiKeySid: string; apiKeySecret: string };
    await world.store().putCurrent(SECRET, randomUUID(), JSON.stringify({ accountSid: world.accountSid, ...admin }));
    await expect(handler(ev('finishSecret', token), context())).rejects.toThrow(/admin/i);
    expect(stage(CURRENT)?.apiKeySid).toBe(admin.apiKeySid);
  });

  it('promotes no key of another account in the pending version when the key verifies by fetching itself', async () => {
    const policy = { allow: ['/twilio/iam/api-keys/read'] };
    await world.seedCurrentKey({ type: 'restricted', policy: { allow: policy.allow } });
    await stampCurrent(SECRET);
    process.env.TWILIO_KEY_ROTATOR_CONFIG = await world.writeConfig([
      { keyType: 'restricted', policy, gate: GATE } as never,
    ]);
    const other = world.twilio.addAccount({ friendlyName: 'someone else' }).sid;
    const foreign = world.twilio.seedKey({ accountSid: other, type: 'restricted', policy: { allow: policy.allow } });
    const token = randomUUID();
    world.sm.beginRotation(SECRET, token);
    // Someone fills Secrets Manager's empty AWSPENDING version with the token (the call AWS's template makes).
    await world
      .store()
      .putPending(
        SECRET,
        token,
        JSON.stringify({ accountSid: world.accountSid, apiKeySid: foreign.sid, apiKeySecret: foreign.secret }),
      );
    for (const s of ['createSecret', 'setSecret']) await handler(ev(s, token), context());
    for (const s of ['testSecret', 'finishSecret']) await handler(ev(s, token), context()).catch(() => undefined);
    expect(stage(CURRENT)?.apiKeySid).not.toBe(foreign.sid);
    expect(stage(PENDING)?.apiKeySid).toBe(foreign.sid);
  });

  it('promotes no key of another account in the pending version when the key verifies by a list', async () => {
    // A Standard key verifies with IncomingPhoneNumbers under the target account's path: another
    // account's key is refused there, so the direct path stands aside and the look decides.
    await world.seedCurrentKey();
    await stampCurrent(SECRET);
    process.env.TWILIO_KEY_ROTATOR_CONFIG = await world.writeConfig([{ gate: GATE }]);
    const other = world.twilio.addAccount({ friendlyName: 'someone else' }).sid;
    const foreign = world.twilio.seedKey({ accountSid: other, type: 'standard' });
    const token = randomUUID();
    world.sm.beginRotation(SECRET, token);
    const claimed = { accountSid: world.accountSid, apiKeySid: foreign.sid, apiKeySecret: foreign.secret };
    await world.store().putPending(SECRET, token, JSON.stringify(claimed));
    for (const s of ['createSecret', 'setSecret']) await handler(ev(s, token), context());
    for (const s of ['testSecret', 'finishSecret']) await handler(ev(s, token), context()).catch(() => undefined);
    expect(stage(CURRENT)?.apiKeySid).not.toBe(foreign.sid);
    expect(world.twilio.listKeys(other).map((k) => k.sid)).toContain(foreign.sid);
  });

  it("finishSecret promotes nothing over an AWSCURRENT a person replaced with another account's key", async () => {
    await world.seedCurrentKey();
    await stampCurrent(SECRET);
    process.env.TWILIO_KEY_ROTATOR_CONFIG = await world.writeConfig([{ gate: GATE }]);
    const token = randomUUID();
    world.sm.beginRotation(SECRET, token);
    for (const s of ['createSecret', 'setSecret']) await handler(ev(s, token), context());
    world.resetLogs();
    await handler(ev('testSecret', token), context());
    expect(twilioCalls('ListKeys')).toBe(0);
    const mine = randomUUID();
    await world.store().putCurrent(
      SECRET,
      mine,
      JSON.stringify({
        accountSid: 'AC' + '0'.repeat(32),
        apiKeySid: 'SK' + '1'.repeat(32),
        apiKeySecret: 'x'.repeat(32),
      }),
    );
    await expect(handler(ev('finishSecret', token), context())).rejects.toThrow();
    expect(world.sm.inspect(SECRET)!.versions.find((v) => v.versionId === mine)!.stages).toContain(CURRENT);
  });

  it('Auth Token testSecret stamps nothing when a person replaced AWSCURRENT with a token Twilio refuses', async () => {
    await world.seedToken();
    await stampCurrent('twilio/token');
    process.env.TWILIO_KEY_ROTATOR_CONFIG = await world.writeConfig([{ kind: 'auth-token' }]);
    const token = randomUUID();
    const tev = (Step: string) => rotationEventOf(world, 'twilio/token', Step, token);
    world.sm.beginRotation('twilio/token', token);
    for (const s of ['createSecret', 'setSecret']) await handler(tev(s), context());
    await world
      .store()
      .putCurrent(
        'twilio/token',
        randomUUID(),
        JSON.stringify({ accountSid: world.accountSid, authToken: 'f'.repeat(32) }),
      );
    await handler(tev('testSecret'), context()).catch(() => undefined);
    expect(world.sm.inspect('twilio/token')!.tags['rotator:pending-since']).toBeUndefined();
  });
});
