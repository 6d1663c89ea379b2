import { describe, expect, it } from 'vitest';
import { Fleet } from '../support/fleet.js';
import type { StoreKind } from '../support/world.js';

/**
 * Several real `rotate` processes start at once on a whole fleet (test/support/fleet.ts: an Auth
 * Token target, then five API-key targets on two accounts, four at a time in each process), every
 * credential due. Each process holds each account under its own limit, so together they exceed what
 * the Twilio emulator allows and meet 429s. Per target they all compute the same rotation id and the
 * store lets one win. Whatever the interleaving, each target ends rotated exactly once, with every
 * invariant of the single-target race tests, and nothing left behind.
 */

const PROCESSES = 3;
const RETRY = { attempts: 8, budgetSeconds: 5, minDelayMs: 5 };
/** An announced Auth Token creation a racer abandoned holds the token target back for 2 × budget + 5 s. */
const CREATION_WINDOW_MS = 2 * RETRY.budgetSeconds * 1000 + 5000;

async function race(kind: StoreKind): Promise<void> {
  const fleet = await Fleet.start(kind, { orphanGraceSeconds: 900, retry: RETRY });
  try {
    const seen = await fleet.snapshot();
    fleet.world.resetLogs();
    const results = await Promise.all(Array.from({ length: PROCESSES }, () => fleet.child(['rotate'])));
    for (const r of results) {
      // A racer whose current token another racer promoted meanwhile stands down; it never pages.
      expect(r.stdout, 'no racer reports a target stuck').not.toContain('STUCK');
      expect(r.code, `a racer failed:\n${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout + r.stderr, 'no raw stack or undefined in output').not.toMatch(/\n\s+at |undefined/);
    }
    await fleet.checkObservation(seen, `${kind} store, after ${PROCESSES} racers`);
    const log = fleet.world.twilio.controls.log;
    const created = log.filter((e) => e.operation === 'CreateKey' && e.status === 201).length;
    const secondaries = log.filter((e) => e.operation === 'CreateSecondaryAuthToken' && e.status === 201).length;
    const promotions = log.filter((e) => e.operation === 'PromoteAuthToken' && e.status === 200).length;
    const lost = results.map((r) => r.stdout.split('another rotator got there first').length - 1);
    // A racer that read the admin token before another promoted it stands down (deferred), not fails.
    const stoodDown = results.map((r) => r.stdout.split('another run promoted the Auth Token').length - 1);
    const throttled = fleet.throttled();

    // Ordinary runs settle what the racers left for later (after an abandoned creation's window, if any).
    let settled = false;
    for (let i = 0; i < 3 && !settled; i++) {
      const settle = await fleet.world.cli(['rotate']);
      await fleet.checkObservation(seen, `${kind} store, settling run ${i + 1}`);
      expect(settle.code, settle.stdout).toBe(0);
      settled = fleet.allDone(settle.stdout);
      if (!settled && settle.stdout.includes('being created by another run'))
        await new Promise((resolve) => setTimeout(resolve, CREATION_WINDOW_MS));
    }
    expect(settled, `${kind} store: settles`).toBe(true);
    await fleet.checkConverged(`${kind} store, ${PROCESSES} racers`);
    expect(promotions, 'the Auth Token was promoted once').toBe(1);
    // Every key beyond one per target was made by a racer that lost and revoked it.
    if (created > fleet.apiKeys.length) expect(lost.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    console.log(
      `race, fleet (${kind} store, ${PROCESSES} processes): ${created} keys created for ` +
        `${fleet.apiKeys.length} targets, races lost per process ${lost.join('/')}, targets stood ` +
        `down on a replaced admin token ${stoodDown.join('/')}, ${secondaries} secondary token(s) ` +
        `created, ${promotions} promotion, ${throttled} Twilio 429s`,
    );
  } finally {
    await fleet.close();
  }
}

describe.each<StoreKind>(['file', 'aws'])('concurrent rotators on a fleet (%s store)', (kind) => {
  it(
    `${PROCESSES} processes rotating every target at once: each rotated once, nothing left behind`,
    { timeout: 90_000 },
    async () => {
      await race(kind);
    },
  );
});
