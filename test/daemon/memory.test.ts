import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { recordOutput } from '../support/scan.js';
import { AWS_ENV, World } from '../support/world.js';

/**
 * Memory over a long run: a real process runs the daemon for hundreds of ticks back to back
 * (./memory-child.ts), rotating a key every half second, against the emulators in this process.
 * What may not grow: the redaction registry (one run's secrets at most) and the heap after a full
 * GC, past V8's warm-up (a heap snapshot diff showed the early growth is JIT code, not objects).
 *
 * Nothing here depends on the machine's speed: the child runs until it has done MIN_TICKS ticks and
 * MIN_ROTATIONS rotations both, however many ticks a busy machine fits in half a second. How many
 * secrets one run sees does depend on it (on a busy machine keys fall due faster than old ones are
 * retired, and a run reads more of them: peaks of 44 forms quiet, up to 80 loaded), so the registry
 * is checked where the daemon empties it, between runs: it must hold nothing there. With
 * forgetSecrets() removed it holds every key's forms seen so far.
 */

const MIN_TICKS = 400;
const MIN_ROTATIONS = 10;
/** Bounds the child's loop: a rotation falls due every few ticks, even on a busy machine. */
const MAX_TICKS = 4_000;

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('daemon memory', () => {
  it(`stays flat over ${MIN_TICKS} ticks and ${MIN_ROTATIONS} rotations`, async () => {
    world = await World.start('file');
    await world.seedAdmin('auth-token');
    await world.writeConfig([{ maxAgeDays: 0.5 / 86400, gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 } }], {
      daemon: { schedule: '0 0 1 1 *', runOnStart: false },
    });
    const child = spawn(
      process.execPath,
      [
        ...['--expose-gc', '--import', 'tsx', 'test/daemon/memory-child.ts', world.configPath],
        ...[MIN_TICKS, MIN_ROTATIONS, MAX_TICKS].map(String),
      ],
      { env: { ...process.env, ...AWS_ENV }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    recordOutput(stdout + stderr);
    expect(code, stderr).toBe(0);
    const { rotations, samples } = JSON.parse(stdout) as {
      rotations: number;
      samples: { tick: number; heapUsed: number; peakSecretForms: number; leftAfterRuns: number }[];
    };
    const keysCreated = world.twilio.controls.log.filter((r) => r.operation === 'CreateKey').length;

    // The runs kept bringing new secrets (counted by the child and by the emulator's own log); the
    // registry held only the run's own, and nothing once it ended.
    expect(rotations).toBeGreaterThanOrEqual(MIN_ROTATIONS);
    expect(keysCreated).toBeGreaterThanOrEqual(MIN_ROTATIONS);
    const peaks = samples.map((s) => s.peakSecretForms).join(' ');
    const left = samples.map((s) => s.leftAfterRuns);
    expect(Math.max(...left), `forms left between runs per 25 ticks: ${left.join(' ')} (peaks: ${peaks})`).toBe(0);

    const mb = (n: number) => n / 1e6;
    const warm = samples.find((s) => s.tick >= 100)!;
    const last = samples.at(-1)!;
    const heaps = samples.map((s) => mb(s.heapUsed).toFixed(2)).join(' ');
    // 300 runs or more: a retained Runtime or result per run would add several MB; JIT code adds a few hundred KB.
    expect(mb(last.heapUsed - warm.heapUsed), `heap MB per sample: ${heaps}`).toBeLessThan(1.5);
  }, 180_000);
});
