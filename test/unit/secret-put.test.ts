import { describe, expect, it } from 'vitest';
import { CURRENT } from '../../src/core/labels.js';
import { rotate } from '../../src/engine/commands.js';
import { putSecret } from '../../src/engine/secret-put.js';
import { UsageError } from '../../src/errors.js';
import { AC, fakeWorld, type FakeWorld } from '../support/fakes.js';

/**
 * `secret put` refuses what would break a rotation or the configuration, and changes nothing when it
 * does (issue 19): a replacement while the API-key gate holds the previous key, an admin key in a
 * rotated secret, an admin credential of an account no target uses.
 */

const HOUR = 3_600_000;
const put = (w: FakeWorld, secretId: string, value: string, replace = false) =>
  putSecret(w.config, w.runtime, { secretId, store: 'file', value, replace });
const snapshot = (w: FakeWorld) => JSON.stringify(w.store.table);
const keyValue = (sid: string, secret: string) =>
  JSON.stringify({ accountSid: AC, apiKeySid: sid, apiKeySecret: secret });

async function currentSid(w: FakeWorld): Promise<string> {
  const v = (await w.store.read('twilio/app'))!.versions.find((x) => x.stages.includes(CURRENT))!;
  return (JSON.parse(v.value!) as { apiKeySid: string }).apiKeySid;
}

describe('secret put --replace during a rotation', () => {
  it('refuses while an API-key rotation waits at its consumer gate, says what to do, and changes nothing', async () => {
    const w = await fakeWorld({ gate: { minOverlapSeconds: 3600, manualConfirm: true } });
    await rotate(w.config, w.runtime);
    const old = await currentSid(w);
    expect((await rotate(w.config, w.runtime, { force: true }))[0]).toMatchObject({ kind: 'waiting', kept: old });
    const manual = w.twilio.seed('hand-made');
    const before = snapshot(w);
    const refused = put(w, 'twilio/app', keyValue(manual.sid, manual.secret), true);
    await expect(refused).rejects.toThrow(UsageError);
    await expect(refused).rejects.toThrow(
      new RegExp(
        `secret "twilio/app" cannot be replaced now: a rotation waits at its consumer gate: the ` +
          `previous key ${old} .*` +
          'twilio-key-rotator status app.*twilio-key-rotator confirm app.*rotate --target app.*nothing was stored',
      ),
    );
    expect(snapshot(w)).toBe(before);
    expect(w.twilio.writes).not.toContain(`remove ${old}`);
  });

  it('refuses, storing nothing, when it cannot tell whether the gate holds a key (Twilio unreachable)', async () => {
    const w = await fakeWorld();
    await rotate(w.config, w.runtime);
    const manual = w.twilio.seed('hand-made');
    const before = snapshot(w);
    w.twilio.failing = ['list'];
    await expect(put(w, 'twilio/app', keyValue(manual.sid, manual.secret), true)).rejects.toThrow(
      /cannot tell whether target "app" has a rotation waiting for its consumer gate .*HTTP 500.*nothing was stored/,
    );
    expect(snapshot(w)).toBe(before);
  });

  it('accepts the replacement once the gate retired the previous key', async () => {
    const w = await fakeWorld({ gate: { minOverlapSeconds: 3600 } });
    await rotate(w.config, w.runtime);
    await rotate(w.config, w.runtime, { force: true });
    w.advance(HOUR);
    expect((await rotate(w.config, w.runtime))[0]).toMatchObject({ kind: 'done' });
    const manual = w.twilio.seed('hand-made');
    await expect(put(w, 'twilio/app', keyValue(manual.sid, manual.secret), true)).resolves.toMatchObject({
      replaced: true,
    });
    expect(await currentSid(w)).toBe(manual.sid);
  });
});

describe('secret put refuses values the configuration forbids', () => {
  it("refuses an admin credential's key in a rotated secret, naming the secret, and stores nothing", async () => {
    const w = await fakeWorld();
    const main = w.twilio.seed('main');
    const admin = JSON.stringify({ accountSid: AC, adminKeySid: main.sid, adminKeySecret: main.secret });
    await w.store.putCurrent('twilio/admin', 'b'.repeat(32), admin);
    const before = snapshot(w);
    const refused = put(w, 'twilio/app', keyValue(main.sid, main.secret));
    await expect(refused).rejects.toThrow(UsageError);
    await expect(refused).rejects.toThrow(
      new RegExp(`key ${main.sid} is an admin credential .*secret "twilio/app" is the one target "app" rotates`),
    );
    expect(snapshot(w)).toBe(before);
  });

  it('refuses an admin credential of an account no target uses', async () => {
    const w = await fakeWorld();
    const other = `AC${'c'.repeat(32)}`;
    const before = snapshot(w);
    const refused = put(w, 'twilio/admin', JSON.stringify({ accountSid: other, authToken: 'e'.repeat(32) }), true);
    await expect(refused).rejects.toThrow(UsageError);
    await expect(refused).rejects.toThrow(
      new RegExp(
        `credential of account ${other}, which no target or fleet .*store a credential of ${AC} in ` +
          `secret "twilio/admin"`,
      ),
    );
    expect(snapshot(w)).toBe(before);
  });

  it("still stores the target's own admin credential", async () => {
    const w = await fakeWorld();
    const token = JSON.stringify({ accountSid: AC, authToken: 'd'.repeat(32) });
    await expect(put(w, 'twilio/admin', token, true)).resolves.toMatchObject({ replaced: true });
  });
});
