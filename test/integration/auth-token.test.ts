import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { afterEach, describe, expect, it } from 'vitest';
import { twilioAuthTokens } from '../../src/adapters/twilio/auth-tokens.js';
import type { RotatorConfig } from '../../src/config/types.js';
import type { TargetResult } from '../../src/core/outcome.js';
import { tokenFingerprint } from '../../src/credentials/auth-token/shape.js';
import { rotate } from '../../src/engine/commands.js';
import {
  createWebhookValidator,
  fileSigningTokens,
  secretsManagerSigningTokens,
  type SigningTokens,
} from '../../src/webhooks.js';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AWS_ENV, World, type StoreKind, type TargetSpec } from '../support/world.js';

/**
 * The Auth Token flow end to end: the CLI and the engine over HTTP to the Twilio and Secrets Manager
 * emulators, each store. The engine-over-fakes suite (test/unit/engine-auth-token.test.ts) covers
 * every planner branch; this one proves the wire: what Twilio answers, what is stored, which token
 * works when.
 */

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const GATED: TargetSpec = { kind: 'auth-token', gate: { minOverlapSeconds: 3600, maxWaitSeconds: 86_400 } };

async function start(kind: StoreKind, targets: TargetSpec[] = [GATED]): Promise<World> {
  world = await World.start(kind);
  await world.writeConfig(targets);
  return world;
}

/** Runs the engine with a clock the test moves. */
function clocked(w: World, config: RotatorConfig) {
  let now = Date.now();
  const runtime = w.runtime(config, () => now);
  return {
    advance: (ms: number) => (now += ms),
    now: () => now,
    run: async (options: { force?: boolean } = {}): Promise<TargetResult> =>
      (await rotate(config, runtime, { targets: ['token'], ...options }))[0]!,
  };
}

describe.each<StoreKind>(['file', 'aws'])('Auth Token rotation end to end (%s store)', (kind) => {
  it('creates a secondary, keeps the old token until the gate passes, promotes, and the old token dies', async () => {
    const w = await start(kind);
    const old = await w.seedToken('twilio/token', { region: 'us1' });
    const clock = clocked(w, await w.config());

    const first = await clock.run({ force: true });
    expect(first).toMatchObject({ kind: 'waiting', kept: tokenFingerprint(old) });
    const secondary = w.twilio.secondaryToken();
    expect(secondary).toBeDefined();
    expect(await w.storedToken('AWSPENDING')).toBe(secondary);
    expect(w.twilio.authToken()).toBe(old);
    expect([await w.tokenWorks(old), await w.tokenWorks(secondary)]).toEqual([true, true]);

    clock.advance(3_600_000);
    const second = await clock.run();
    expect(second).toMatchObject({ kind: 'done', credential: 'auth-token', current: tokenFingerprint(secondary!) });
    expect(second.steps.map((s) => s.step)).toEqual(['promote', 'settle']);
    expect(w.twilio.authToken()).toBe(secondary);
    expect(w.twilio.secondaryToken()).toBeUndefined();
    expect(await w.tokenWorks(old)).toBe(false);
    expect(await w.tokenWorks(secondary)).toBe(true);
    expect([await w.storedToken('AWSCURRENT'), await w.storedToken('AWSPREVIOUS')]).toEqual([secondary, old]);
    expect(await w.storedToken('AWSPENDING')).toBeUndefined();
    // AWS's TwilioAuthToken shape, the consumer's own field kept.
    const current = (await w.store().read('twilio/token'))!.versions.find((v) => v.stages.includes('AWSCURRENT'))!;
    expect(JSON.parse(current.value!)).toEqual({ accountSid: w.accountSid, authToken: secondary, region: 'us1' });

    // The next rotation authenticates with the promoted token: the target manages itself.
    expect(await clock.run({ force: true })).toMatchObject({ kind: 'waiting' });
    clock.advance(3_600_000);
    const third = await clock.run();
    expect(third, JSON.stringify(third)).toMatchObject({
      kind: 'done',
      current: tokenFingerprint(w.twilio.authToken()),
    });
    expect(await w.tokenWorks(secondary)).toBe(false);
  });

  it('abort before the promotion deletes the secondary and drops AWSPENDING; after it, refuses', async () => {
    const w = await start(kind, [GATED, { name: 'app' }]);
    await w.seedAdmin('auth-token');
    const old = await w.seedToken();
    expect((await w.cli(['rotate', '--target', 'token', '--force'])).code).toBe(0);
    const secondary = w.twilio.secondaryToken();

    const aborted = await w.cli(['abort', 'token']);
    expect(aborted.code, aborted.stderr).toBe(0);
    expect(aborted.stdout).toContain(`the secondary token ${tokenFingerprint(secondary!)} — deleted it on Twilio`);
    expect(w.twilio.secondaryToken()).toBeUndefined();
    expect(await w.storedToken('AWSPENDING')).toBeUndefined();
    expect(w.twilio.authToken()).toBe(old);
    expect(await w.tokenWorks(old)).toBe(true);

    const again = await w.cli(['abort', 'token']);
    expect([again.code, again.stdout]).toEqual([0, expect.stringContaining('nothing to abort') as string]);
    const keyTarget = await w.cli(['abort', 'app']);
    expect([keyTarget.code, keyTarget.stderr]).toEqual([
      2,
      expect.stringContaining('(kind api-key) has nothing to abort') as string,
    ]);

    // Promoted behind the labels' back: nothing can be backed out, and nothing is touched.
    expect((await w.cli(['rotate', '--target', 'token', '--force'])).code).toBe(0);
    const made = w.twilio.secondaryToken()!;
    const promote = await fetch(`${w.twilio.url}/v1/AuthTokens/Promote`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${w.accountSid}:${old}`).toString('base64')}` },
    });
    expect(promote.status).toBe(200);
    const late = await w.cli(['abort', 'token']);
    expect([late.code, late.stderr]).toEqual([2, expect.stringContaining('is already dead on Twilio') as string]);
    expect(await w.storedToken('AWSPENDING')).toBe(made);
    const finish = await w.cli(['rotate', '--target', 'token']);
    expect(finish.stdout, finish.stderr).toContain('token: done.');
    expect(await w.storedToken('AWSCURRENT')).toBe(made);
    // Finished: abort still refuses (exit 2) and says plainly that the old token is dead.
    const after = await w.cli(['abort', 'token']);
    expect(after.code).toBe(2);
    expect(after.stderr).toContain(`the old token ${tokenFingerprint(old)} is already dead on Twilio`);
  });

  it('refuses to start while a secondary exists that it did not create; --replace-secondary replaces it', async () => {
    const w = await start(kind);
    await w.seedToken();
    const foreign = w.twilio.seedSecondary();
    const refused = await w.cli(['rotate', '--force']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('FAILED at start-rotation');
    expect(refused.stdout).toContain('--replace-secondary');
    expect(w.twilio.secondaryToken()).toBe(foreign);
    expect(await w.storedToken('AWSPENDING')).toBeUndefined();

    const replaced = await w.cli(['rotate', '--force', '--target', 'token', '--replace-secondary']);
    expect(replaced.code, replaced.stdout).toBe(0);
    const mine = w.twilio.secondaryToken();
    expect(mine).not.toBe(foreign);
    expect(await w.storedToken('AWSPENDING')).toBe(mine);
    expect(await w.tokenWorks(foreign)).toBe(false);
    const misplaced = await w.cli(['status', '--replace-secondary']);
    expect(misplaced.code).toBe(2);
  });

  it('a secondary deleted just before the promotion: Twilio answers 404/20404 and the old token stays', async () => {
    const w = await start(kind, [{ ...GATED, gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 } }]);
    const old = await w.seedToken();
    // Someone deletes the secondary between this run's look and its promotion.
    w.twilio.controls.hooks = {
      beforeEffect: (e) => {
        if (e.operation === 'PromoteAuthToken') w.twilio.dropSecondary();
      },
    };
    const run = await w.cli(['rotate', '--force']);
    w.twilio.controls.hooks = {};
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('no secondary token to promote (404/20404)');
    expect(w.twilio.controls.log.find((e) => e.operation === 'PromoteAuthToken')?.status).toBe(404);
    expect(w.twilio.authToken()).toBe(old);
    expect(await w.storedToken('AWSCURRENT')).toBe(old);
    // The next run drops the dead pending token and starts over.
    const next = await w.cli(['rotate', '--force']);
    expect(next.code, next.stdout).toBe(0);
    expect(next.stdout).toContain('token: done.');
    expect(await w.tokenWorks(old)).toBe(false);
  });

  it('with no token stored yet: stuck, saying how to store it, and nothing changes', async () => {
    const w = await start(kind);
    w.resetLogs();
    const run = await w.cli(['rotate']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('token: STUCK');
    expect(run.stdout).toContain('twilio-key-rotator secret put twilio/token');
    expect(w.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
  });

  it('dry run: the whole plan, zero mutating calls', async () => {
    const w = await start(kind);
    await w.seedToken();
    w.resetLogs();
    const dry = await w.cli(['rotate', '--dry-run', '--force']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('create a secondary Auth Token');
    expect(dry.stdout).toMatch(/check: current token tf_[0-9a-f]{16} works and is the primary/);
    expect(w.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
    expect(w.twilio.secondaryToken()).toBeUndefined();
  });
});

describe('Auth Token admin credentials', () => {
  const admin = { ...GATED, adminSecretId: 'twilio/admin' };

  it.each(['standard', 'restricted'] as const)(
    'refuses a %s key up front, before any change, and says what to use',
    async (keyType) => {
      const w = await start('file', [admin]);
      await w.seedToken();
      await w.seedAdmin(keyType);
      w.resetLogs();
      const run = await w.cli(['rotate', '--force']);
      expect(run.code).toBe(1);
      expect(run.stdout + run.stderr).toMatch(
        keyType === 'standard' ? /is not a Main key/ : /is a Restricted key, and no permission covers Auth Tokens/,
      );
      expect(run.stdout + run.stderr).toContain('Use the account');
      expect(w.mutatingCalls().twilio).toBe(0);
      expect(w.twilio.secondaryToken()).toBeUndefined();
    },
  );

  it("refuses another account's Auth Token: Twilio would rotate that account's token", async () => {
    const w = await start('file', [admin]);
    await w.seedToken();
    const parent = w.twilio.addAccount();
    await w
      .store()
      .create('twilio/admin', 'a'.repeat(32), JSON.stringify({ accountSid: parent.sid, authToken: parent.authToken }));
    const run = await w.cli(['rotate', '--force']);
    expect(run.stdout + run.stderr).toContain(`belongs to ${parent.sid}`);
    expect(w.mutatingCalls().twilio).toBe(0);
  });

  it('rotates with a Main key; an admin secret holding the old token gets the new one in the same step', async () => {
    // The API-key target's admin secret holds the Auth Token being rotated: it must not be locked out.
    const w = await start('file', [
      { ...GATED, gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 } },
      { name: 'app' },
    ]);
    await w.seedAdmin('auth-token');
    await w.seedToken();
    const run = await w.cli(['rotate', '--force']);
    expect(run.code, run.stdout).toBe(0);
    const adminNow = (await w.store().read('twilio/admin'))!.versions.find((v) => v.stages.includes('AWSCURRENT'))!;
    expect(JSON.parse(adminNow.value!)).toEqual({ accountSid: w.accountSid, authToken: w.twilio.authToken() });
    expect((await w.cli(['rotate', '--target', 'app', '--force'])).code).toBe(0);

    const main = await start('file', [{ ...admin, gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 } }]);
    await main.seedToken();
    await main.seedAdmin('main');
    const withMain = await main.cli(['rotate', '--force']);
    expect(withMain.code, withMain.stdout).toBe(0);
    expect(withMain.stdout).toContain('token: done.');
  });
});

describe('the adapter against Twilio answers', () => {
  it('promote with no secondary is "no-secondary" (404/20404); delete with none is "none"', async () => {
    world = await World.start('file');
    const tokens = twilioAuthTokens(
      { username: world.accountSid, password: world.twilio.authToken() },
      { accountSid: world.accountSid },
      { http: { baseUrl: world.twilio.url, timeoutMs: 5000 }, retry: { attempts: 2, budgetMs: 5000, minDelayMs: 5 } },
    );
    expect(await tokens.promote()).toBe('no-secondary');
    expect(await tokens.deleteSecondary()).toBe('none');
    expect(world.twilio.controls.log.map((e) => e.status)).toEqual([404, 404]);
    const made = await tokens.createSecondary();
    expect(made).toEqual({ token: world.twilio.secondaryToken() });
    expect(await tokens.createSecondary()).toBe('exists');
  });
});

describe.each<StoreKind>(['file', 'aws'])('webhook validation across a promotion (%s store)', (kind) => {
  it('accepts what Twilio signs before, during and after the promotion; the old token only for a while', async () => {
    const w = await start(kind);
    await w.seedToken();
    const config = await w.config();
    const clock = clocked(w, config);
    const grace = { previousGraceMs: 15 * 60_000, now: clock.now };
    const load: () => Promise<SigningTokens> =
      kind === 'aws'
        ? secretsManagerSigningTokens({
            ...grace,
            secretId: 'twilio/token',
            client: new SecretsManagerClient({
              region: 'us-east-1',
              endpoint: w.sm.url,
              credentials: { accessKeyId: AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: AWS_ENV.AWS_SECRET_ACCESS_KEY },
            }),
          })
        : fileSigningTokens({ ...grace, path: w.storePath, secretId: 'twilio/token' });
    // A validator that refreshes every minute, as a deployed one would.
    const validator = createWebhookValidator({ load, refreshMs: 60_000, now: clock.now });
    const url = 'https://hooks.example.com/twilio/sms';
    const params = { MessageSid: 'SM123', Body: 'hi' };
    /** What Twilio sends now: signed with the account's primary, by Twilio's own library. */
    const twilioSends = () => ({
      signature: getExpectedTwilioSignature(w.twilio.authToken(), url, params),
      url,
      params,
    });

    const before = twilioSends();
    expect(await validator.validate(before)).toMatchObject({ valid: true, signedWith: 'current' });

    await clock.run({ force: true }); // secondary stored as AWSPENDING; Twilio still signs with the old one
    clock.advance(60_000);
    expect(await validator.validate(twilioSends())).toMatchObject({ valid: true, signedWith: 'current' });

    clock.advance(3_600_000);
    const signedJustBefore = twilioSends();
    expect(await validator.validate(signedJustBefore)).toMatchObject({ valid: true, signedWith: 'current' });
    expect(await clock.run()).toMatchObject({ kind: 'done' });
    // Promoted: Twilio signs with the new token at once; the validator knew it as pending already.
    const cached = await validator.validate(twilioSends());
    expect(cached).toMatchObject({ valid: true, signedWith: 'pending' });
    expect(await validator.validate(signedJustBefore)).toMatchObject({ valid: true, signedWith: 'current' });
    clock.advance(60_000);
    expect(await validator.validate(twilioSends())).toMatchObject({ valid: true, signedWith: 'current' });
    expect(await validator.validate(signedJustBefore)).toMatchObject({ valid: true, signedWith: 'previous' });

    // Past the grace period, the retired token signs nothing.
    clock.advance(15 * 60_000);
    expect(await validator.validate(signedJustBefore)).toMatchObject({ valid: false });
    expect(await validator.validate(twilioSends())).toMatchObject({ valid: true, signedWith: 'current' });
    // Requests signed with a token nobody holds never pass.
    const forged = { ...twilioSends(), signature: getExpectedTwilioSignature('0'.repeat(32), url, params) };
    expect(await validator.validate(forged)).toMatchObject({ valid: false });
  });
});

describe('Auth Token: the store fails right after Create', () => {
  it('deletes the secondary the run made and holds, so the next run rotates without a person', async () => {
    world = await World.start('aws');
    const gate = { minOverlapSeconds: 0, maxWaitSeconds: 3600 };
    await world.writeConfig([{ kind: 'auth-token', gate }], {
      retry: { attempts: 1, budgetSeconds: 2, minDelayMs: 5 },
    });
    const old = await world.seedToken();
    world.sm.controls.setFaults({ operations: ['PutSecretValue'], sequence: ['server-error'] });
    const failed = await world.cli(['rotate', '--force']);
    expect(failed.code, failed.stdout).toBe(1);
    const created = world.twilio.controls.log.filter((e) => e.operation === 'CreateSecondaryAuthToken');
    expect(created.map((e) => e.status)).toEqual([201]);
    expect(world.twilio.secondaryToken()).toBeUndefined();
    expect(await world.tokenWorks(old)).toBe(true);
    world.sm.controls.clearFaults();
    const again = await world.cli(['rotate', '--force']);
    expect(again.code, again.stdout).toBe(0);
    expect(world.twilio.authToken()).not.toBe(old);
    expect(await world.storedToken('AWSCURRENT')).toBe(world.twilio.authToken());
  });
});
