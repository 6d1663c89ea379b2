import { describe, expect, it } from 'vitest';
import { describePoint, Fleet, prng, type KillPoint } from '../support/fleet.js';
import type { StoreKind } from '../support/world.js';
import { allRequests, inPool } from './harness.js';

/**
 * Crash with concurrency on. A real `rotate` child reconciles a fleet (test/support/fleet.ts: an Auth
 * Token target first, then five API-key targets on two accounts, four at a time, each account held to
 * a few requests in flight and answered 429 above that) and is SIGKILLed at a mutating request while
 * several targets are mid-rotation. Ordinary runs then converge, and every invariant of the
 * single-target crash tests holds for every target at every look (Fleet.checkObservation), and at
 * the end (Fleet.checkConverged).
 *
 * Kill points, deterministic from TKR_FLEET_SEED (printed): the Nth mutating request of the API-key
 * phase (counted from the first CreateKey; both emulators together), before it takes effect or after;
 * the kth CreateKey; and, on the file store, right after Twilio promoted the Auth Token (the
 * admin secret of account A's targets then holds a dead token until a rerun's token phase refreshes
 * it, before the API-key phase reads it). TKR_FLEET_CRASH=all kills at every mutating request of an
 * undisturbed run instead, before and after it, on both stores (many minutes).
 */

const SEED = Number(process.env.TKR_FLEET_SEED ?? 13);
const EXHAUSTIVE = process.env.TKR_FLEET_CRASH === 'all';
/** Mutating requests in the API-key phase of an undisturbed run of the fleet (five rotations). */
const API_KEY_PHASE = { aws: 42, file: 10 };
const RETRY = { attempts: 6, budgetSeconds: 2, minDelayMs: 5 };
/** An Auth Token creation announced by a killed run holds the token target back for 2 × budget + 5 s. */
const CREATION_WINDOW_MS = 2 * RETRY.budgetSeconds * 1000 + 5000;

/**
 * Right after the kth CreateKey took effect (k from 2 to 4), while the first four targets are all
 * under way (k of them hold a key no store knows yet), and before or after the Nth mutating request of
 * the API-key phase's second half, when the fifth target runs beside the last of the first four. On
 * the file store (cheaper to run) also right after Twilio promoted the Auth Token.
 */
function seededPoints(kind: StoreKind): KillPoint[] {
  const random = prng(SEED * 2 + (kind === 'aws' ? 0 : 1));
  const points: KillPoint[] = kind === 'file' ? [{ only: 'PromoteAuthToken', n: 1, phase: 'after' }] : [];
  points.push({ only: 'CreateKey', n: 2 + Math.floor(random() * 3), phase: 'after' });
  const at = 0.5 + 0.4 * random();
  points.push({
    from: 'CreateKey',
    n: 1 + Math.floor(at * API_KEY_PHASE[kind]),
    phase: random() < 0.5 ? 'before' : 'after',
  });
  return points;
}

/** TKR_FLEET_CRASH=all: every mutating request of an undisturbed run, before and after. */
async function everyPoint(kind: StoreKind): Promise<KillPoint[]> {
  const fleet = await Fleet.start(kind, { retry: RETRY });
  try {
    fleet.world.resetLogs();
    const run = await fleet.child(['rotate']);
    expect(run.code, run.stdout).toBe(0);
    const mutating = allRequests(fleet.world).filter((r) => r.mutating && r.status !== undefined && r.status < 400);
    return mutating.flatMap((_, i) => [
      { n: i + 1, phase: 'before' as const },
      { n: i + 1, phase: 'after' as const },
    ]);
  } finally {
    await fleet.close();
  }
}

async function crashAndRecover(kind: StoreKind, point: KillPoint): Promise<{ mid: string[]; throttled: number }> {
  const fleet = await Fleet.start(kind, { retry: RETRY });
  const where = `${kind} store, seed ${SEED}, kill ${describePoint(point)}`;
  try {
    const seen = await fleet.snapshot();
    const crashed = await fleet.child(['rotate'], point);
    // Reruns run in-process (the CLI's own entry, as a scheduler would start it): no process to start.
    expect(crashed.fired, `${where}: the run reached the kill point; stdout:\n${crashed.stdout}`).toBe(true);
    expect(crashed.signal, `${where}: the child was killed`).toBe('SIGKILL');
    const mid = await fleet.midRotation();
    await fleet.checkObservation(seen, `${where}, after the kill`);

    let converged = false;
    let waited = false;
    for (let attempt = 1; attempt <= 3 && !converged; attempt++) {
      const rerun = await fleet.world.cli(['rotate']);
      await fleet.checkObservation(seen, `${where}, after rerun ${attempt}`);
      if (!waited && rerun.stdout.includes('being created by another run')) {
        // The killed run announced an Auth Token creation: the token target waits out its window.
        waited = true;
        attempt--;
        await new Promise((resolve) => setTimeout(resolve, CREATION_WINDOW_MS));
        continue;
      }
      expect(rerun.code, `${where}: rerun ${attempt} exit code; stdout:\n${rerun.stdout}\n${rerun.stderr}`).toBe(0);
      converged = fleet.allDone(rerun.stdout);
    }
    expect(converged, `${where}: converges within 3 reruns`).toBe(true);
    await fleet.checkConverged(`${where}, converged`);
    return { mid, throttled: fleet.throttled() };
  } finally {
    await fleet.close();
  }
}

describe.each<StoreKind>(['aws', 'file'])('crash with several targets in flight (%s store)', (kind) => {
  it(
    'SIGKILL mid-fleet, then ordinary runs: every target converges with every invariant',
    { timeout: 600_000 },
    async () => {
      const points = EXHAUSTIVE ? await everyPoint(kind) : seededPoints(kind);
      console.log(
        `crash, fleet (${kind} store): seed ${SEED} (TKR_FLEET_SEED); kill points: ` +
          `${points.map(describePoint).join('; ')}`,
      );
      const results: string[] = [];
      let throttled = 0;
      let early = 0;
      await inPool(points, EXHAUSTIVE ? 3 : points.length, async (p) => {
        const r = await crashAndRecover(kind, p);
        throttled += r.throttled;
        if (p.only === 'CreateKey') early = r.mid.length;
        results.push(`${describePoint(p)}: ${r.mid.length} left mid-rotation (${r.mid.join(' ') || '-'})`);
      });
      console.log(`crash, fleet (${kind} store): ${results.join('; ')}; ${throttled} Twilio 429s in all`);
      if (!EXHAUSTIVE)
        expect(
          early,
          'the kill in the first half of the API-key phase left several targets mid-rotation',
        ).toBeGreaterThanOrEqual(2);
    },
  );
});
