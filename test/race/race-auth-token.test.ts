import { describe, expect, it } from 'vitest';
import { spawnCli } from '../support/child.js';
import { AWS_ENV, World, type StoreKind } from '../support/world.js';

/**
 * Several real processes act on one Auth Token target at once. The account has one secondary slot,
 * which is the lock: one run creates the secondary, the others see it exists and stand down (or, when
 * an announcement is younger than the creation window, leave it alone). Whatever the interleaving,
 * the end state after one more ordinary run is one promotion at most, Twilio's primary stored as
 * AWSCURRENT, and no secondary nobody holds.
 */

async function race(kind: StoreKind, commands: string[][]): Promise<void> {
  const world = await World.start(kind);
  try {
    const original = await world.seedToken('twilio/token', {}, { ageDays: 40 });
    await world.writeConfig([{ kind: 'auth-token', gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 } }], {
      retry: { attempts: 4, budgetSeconds: 2, minDelayMs: 5 },
    });
    world.resetLogs();

    const children = await Promise.all(
      commands.map((args) => spawnCli([...args, '--config', world.configPath], AWS_ENV)),
    );
    const results = await Promise.all(children.map((c) => c.done));
    for (const [i, r] of results.entries()) {
      // `status` is a snapshot: caught between another run's promotion and its label move, it truly
      // sees an AWSCURRENT Twilio refuses, says so and exits 1, naming the step that finishes it.
      const caughtMidPromotion = commands[i]![0] === 'status' && r.code === 1 && r.stdout.includes('finish-promotion');
      if (!caughtMidPromotion)
        expect([0, 2], `racer ${commands[i]!.join(' ')} exit code:\n${r.stdout}\n${r.stderr}`).toContain(r.code);
    }
    for (const r of results) expect(r.stdout + r.stderr).not.toMatch(/\n\s+at |undefined/);
    // A run that lost the race never leaves the store or Twilio half-done: the primary still works.
    const current = await world.storedToken('AWSCURRENT');
    const pending = await world.storedToken('AWSPENDING');
    expect((await world.tokenWorks(current)) || (await world.tokenWorks(pending))).toBe(true);

    // Ordinary runs settle what the racers left (after an abandoned creation's window, if any).
    let settled = false;
    for (let i = 0; i < 3 && !settled; i++) {
      const settle = await world.cli(['rotate']);
      expect(settle.code, settle.stdout).toBe(0);
      settled = settle.stdout.includes('token: done.');
      if (!settled) await new Promise((resolve) => setTimeout(resolve, 2 * 2000 + 5000));
    }
    expect(settled).toBe(true);

    const promotions = world.twilio.controls.log.filter(
      (e) => e.operation === 'PromoteAuthToken' && e.status === 200,
    ).length;
    expect(promotions, 'one promotion at most').toBeLessThanOrEqual(1);
    const primary = world.twilio.authToken();
    expect(await world.storedToken('AWSCURRENT'), "AWSCURRENT is Twilio's primary").toBe(primary);
    expect(await world.storedToken('AWSPENDING')).toBeUndefined();
    expect(world.twilio.secondaryToken(), 'no secondary left that nothing holds').toBeUndefined();
    if (promotions === 1) {
      expect(await world.storedToken('AWSPREVIOUS')).toBe(original);
      expect(await world.tokenWorks(original)).toBe(false);
    } else expect(primary).toBe(original);
    const created = world.twilio.controls.log.filter(
      (e) => e.operation === 'CreateSecondaryAuthToken' && e.status === 201,
    ).length;
    console.log(
      `race, Auth Token (${kind}, ${commands.map((c) => c.join(' ')).join(' | ')}): ${created} ` +
        `secondaries created, ${promotions} promotion(s)`,
    );
  } finally {
    await world.close();
  }
}

describe.each<StoreKind>(['file', 'aws'])('concurrent runs on one Auth Token (%s store)', (kind) => {
  it('three rotations of a due token at once promote once', { timeout: 90_000 }, async () => {
    await race(kind, [['rotate'], ['rotate'], ['rotate']]);
  });

  it('rotate, abort, a dry run and status at once leave a consistent account', { timeout: 90_000 }, async () => {
    await race(kind, [['rotate'], ['abort', 'token'], ['rotate', '--dry-run'], ['status']]);
  });
});
