import { afterEach, describe, expect, it } from 'vitest';
import { authenticates, labelledKeys } from '../support/assertions.js';
import { World } from '../support/world.js';

/** rotate --now through the CLI against the emulators: a leaked credential gone in one command. */

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const alerts = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: string; alert?: string; message: string })
    .filter((l) => l.alert !== undefined)
    .map((l) => [l.level, l.alert]);

describe('rotate --now', () => {
  it('replaces a leaked API key and deletes it at once, past a gate that would never open', async () => {
    world = await World.start('file');
    await world.seedAdmin('main');
    const leaked = await world.seedCurrentKey();
    await world.writeConfig([
      {
        gate: {
          minOverlapSeconds: 86400,
          maxWaitSeconds: 604800,
          manualConfirm: true,
          probes: [{ url: 'http://127.0.0.1:9/health', field: 'keySid', timeoutSeconds: 1 }],
        },
      },
    ]);
    const run = await world.cli(['rotate', '--now', 'app', '--overlap', '0'], { LOG_FORMAT: 'json' });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('app: emergency rotation finished.');
    expect(run.stdout).toMatch(new RegExp(`retire-previous: .*deleted the previous key ${leaked}`));
    expect(alerts(run.stderr)).toEqual([
      ['error', 'emergency-started'],
      ['error', 'emergency-finished'],
    ]);
    expect(world.liveKeys()).not.toContain(leaked);
    const { current } = await labelledKeys(world);
    expect(await authenticates(world, current)).toBe(true);
  });

  it('promotes a new Auth Token after the stated overlap; the leaked one is refused from then on', async () => {
    world = await World.start('file');
    const leaked = await world.seedToken();
    await world.writeConfig([{ kind: 'auth-token', gate: { minOverlapSeconds: 86400, manualConfirm: true } }]);
    const run = await world.cli(['rotate', '--now', 'token', '--overlap', '1', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { finished: boolean; steps: { step: string }[] };
    expect(out.finished).toBe(true);
    expect(out.steps.map((s) => s.step)).toEqual(['start-rotation', 'mark-pending', 'promote', 'settle']);
    expect(await world.tokenWorks(leaked)).toBe(false);
    const stored = await world.storedToken('AWSCURRENT');
    expect(stored).toBe(world.twilio.authToken());
    expect(await world.tokenWorks(stored)).toBe(true);
  });
});
