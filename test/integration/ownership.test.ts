import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { keyName, ownerFingerprint } from '../../src/credentials/named/naming.js';
import { authenticates, labelledKeys } from '../support/assertions.js';
import { World, type StoreKind } from '../support/world.js';

/**
 * The rotator deletes only what it provably created for the target, or the previous key of a
 * promotion it performed itself. These are the cases outside trials found it deleting keys it had
 * no business touching.
 */

const token = () => randomBytes(16).toString('hex');
const worlds: World[] = [];
afterEach(async () => {
  // A world beside another closes first: it shares the other's Twilio emulator.
  for (const w of worlds.reverse()) await w.close();
  worlds.length = 0;
});
async function start(kind: StoreKind): Promise<World> {
  const w = await World.start(kind);
  worlds.push(w);
  return w;
}
async function beside(other: World): Promise<World> {
  const w = await World.beside(other);
  worlds.push(w);
  return w;
}

describe.each<StoreKind>(['file', 'aws'])('ownership (%s store)', (kind) => {
  it(
    'two deployments that share a prefix and a secret name on one account never delete each other’s keys',
    { timeout: 60_000 },
    async () => {
      const a = await start(kind);
      const b = await beside(a);
      for (const w of [a, b]) {
        await w.seedAdmin('auth-token');
        // Same prefix, same secret name, different stores: the worst case for a prefix-only rule.
        await w.writeConfig([{ prefix: 'shared-', gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 } }], {
          orphanGraceSeconds: 0,
        });
      }
      for (let run = 1; run <= 20; run++) {
        const who = run % 2 === 1 ? a : b;
        const args = run % 3 === 0 ? ['rotate', '--force'] : ['rotate'];
        const result = await who.cli(args);
        expect(result.code, `run ${run}: ${result.stdout}`).toBe(0);
        for (const [name, w] of [
          ['A', a],
          ['B', b],
        ] as const) {
          const { current } = await labelledKeys(w);
          if (current) expect(await authenticates(w, current), `run ${run}: ${name}'s current key is alive`).toBe(true);
        }
      }
      // Each deployment ends with its own key current and nothing of the other's deleted.
      expect((await labelledKeys(a)).current?.apiKeySid).not.toBe((await labelledKeys(b)).current?.apiKeySid);
    },
  );

  it('leaves an adopted AWSPREVIOUS alone, and retires only the previous key of its own promotion', async () => {
    const w = await start(kind);
    await w.seedAdmin('auth-token');
    const otherTeam = w.twilio.seedKey({ type: 'standard', friendlyName: 'team-b-key' });
    const handMade = w.twilio.seedKey({ type: 'standard', friendlyName: 'made-by-hand' });
    const store = w.store();
    const value = (k: { sid: string; secret: string }) =>
      JSON.stringify({ accountSid: w.accountSid, apiKeySid: k.sid, apiKeySecret: k.secret });
    await store.create('twilio/app', token(), value(otherTeam));
    await store.putCurrent('twilio/app', token(), value(handMade));
    await w.writeConfig([{ gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 } }]);

    const plain = await w.cli(['rotate']);
    expect(plain.code, plain.stdout).toBe(0);
    expect(plain.stderr).toContain(`AWSPREVIOUS key ${otherTeam.sid} is left alone`);
    expect(w.liveKeys()).toEqual(expect.arrayContaining([otherTeam.sid, handMade.sid]));

    const forced = await w.cli(['rotate', '--force']);
    expect(forced.code, forced.stdout).toBe(0);
    expect(forced.stdout).toContain('app: done.');
    const { current, previous } = await labelledKeys(w);
    expect(previous?.apiKeySid).toBe(handMade.sid);
    expect(await authenticates(w, current)).toBe(true);
    expect(w.liveKeys()).not.toContain(handMade.sid); // the old key of its own promotion
    expect(w.liveKeys()).toContain(otherTeam.sid); // never its own to delete
  });

  it('never retires a key another target’s secret still holds, after its own gate passes', async () => {
    const w = await start(kind);
    await w.seedAdmin('auth-token');
    const shared = await w.seedCurrentKey();
    const { current: adopted } = await labelledKeys(w);
    await w.store().create('twilio/app1', token(), JSON.stringify(adopted));
    const gate = { minOverlapSeconds: 0, maxWaitSeconds: 3600 };
    await w.writeConfig([{ gate }, { name: 'app1', gate }]);

    const forced = await w.cli(['rotate', '--force', '--target', 'app']);
    expect(forced.code, forced.stdout + forced.stderr).toBe(0);
    expect((await labelledKeys(w)).previous?.apiKeySid).toBe(shared);
    expect(w.liveKeys()).toContain(shared);
    const other = await labelledKeys(w, 'twilio/app1');
    expect(other.current?.apiKeySid).toBe(shared);
    expect(await authenticates(w, other.current)).toBe(true);
    const all = await w.cli(['rotate']);
    expect(all.code, all.stdout + all.stderr).toBe(0);
    expect(all.stderr).toMatch(
      new RegExp(`AWSPREVIOUS key ${shared} is left alone: target .{1,2}app1.{1,2}'s secret holds it`),
    );
    expect(w.liveKeys()).toContain(shared);
  });

  it('refuses to rotate a secret that holds the admin’s own Main key, even when forced', async () => {
    const w = await start(kind);
    await w.seedAdmin('main');
    const admin = JSON.parse((await w.store().read('twilio/admin'))!.versions[0]!.value!) as {
      adminKeySid: string;
      adminKeySecret: string;
    };
    await w
      .store()
      .create(
        'twilio/app',
        token(),
        JSON.stringify({ accountSid: w.accountSid, apiKeySid: admin.adminKeySid, apiKeySecret: admin.adminKeySecret }),
      );
    await w.writeConfig([{ gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 } }]);
    w.resetLogs();
    const run = await w.cli(['rotate', '--force']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(new RegExp(`STUCK[\\s\\S]*current key ${admin.adminKeySid} is an admin credential`));
    expect(w.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
    expect(w.liveKeys()).toContain(admin.adminKeySid);
  });

  it('keeps a key the gate held after a value was put over it by hand; rotate and audit --cleanup too', async () => {
    const w = await start(kind);
    await w.seedAdmin('auth-token');
    await w.writeConfig([{ gate: { minOverlapSeconds: 3600, maxWaitSeconds: 86_400 } }], { orphanGraceSeconds: 0 });
    expect((await w.cli(['rotate'])).code).toBe(0);
    const first = (await labelledKeys(w)).current!.apiKeySid;
    expect((await w.cli(['rotate', '--force'])).stdout).toContain('waiting');
    // A person puts a value over the rotation at its gate (the Console): the first key loses its label.
    const hand = w.twilio.seedKey({ type: 'standard', friendlyName: 'by hand' });
    const value = JSON.stringify({ accountSid: w.accountSid, apiKeySid: hand.sid, apiKeySecret: hand.secret });
    await w.store().putCurrent('twilio/app', token(), value);

    const run = await w.cli(['rotate']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stderr).toMatch(new RegExp(`key ${first} of this target has no label in the secret, but version`));
    const cleanup = await w.cli(['audit', '--cleanup', '--json']);
    const report = JSON.parse(cleanup.stdout) as { accounts: { keys: { sid: string; class: string }[] }[] };
    expect(report.accounts[0]!.keys.find((k) => k.sid === first)).toMatchObject({ class: 'managed' });
    expect(w.liveKeys()).toContain(first);
  });

  it('keeps a key that only a malformed AWSPREVIOUS references, and says why', async () => {
    const w = await start(kind);
    await w.seedAdmin('auth-token');
    await w.writeConfig([{ gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 } }], { orphanGraceSeconds: 0 });
    expect((await w.cli(['rotate'])).code).toBe(0);
    const store = w.store();
    const secret = (await store.read('twilio/app'))!;
    const currentValue = secret.versions.find((v) => v.stages.includes('AWSCURRENT'))!.value!;
    // A key named exactly as this target names its own keys, referenced only by a version that does not parse.
    const named = w.twilio.seedKey({
      type: 'standard',
      friendlyName: keyName('rot-app-', ownerFingerprint(w.accountSid, secret.identity), 'f'.repeat(32)),
      createdAt: new Date(Date.now() - 3_600_000),
    });
    await store.putCurrent(
      'twilio/app',
      token(),
      `{"accountSid": "${w.accountSid}", "apiKeySid": "${named.sid}", "apiKeySecret": `,
    );
    await store.putCurrent('twilio/app', token(), currentValue);

    const run = await w.cli(['rotate']);
    expect(run.code, run.stdout).toBe(0);
    expect(w.liveKeys()).toContain(named.sid);
    expect(run.stderr).toMatch(
      new RegExp(
        `AWSPREVIOUS version [0-9a-f]{32} cannot be read \\(value is not JSON[^)]*\\); its key ` +
          `${named.sid} stays untouched`,
      ),
    );
    expect(run.stderr).not.toContain(named.secret);
  });
});
