import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { fileStore } from '../../src/adapters/secrets/file-store.js';
import { authenticates, labelledKeys, unreferencedRotatorKeys } from '../support/assertions.js';
import { spawnCli, type ChildRun } from '../support/child.js';
import { AWS_ENV, World } from '../support/world.js';

/**
 * The daemon as operators run it: the built CLI in a child process, real signals, a real cron
 * schedule (seconds-level), the emulators over HTTP. Assertions about time are "at least this much
 * within a generous window": the machine may be busy and node-cron then misses ticks.
 */

const DAY = 86_400_000;
const EVERY_SECOND = '* * * * * *';
const NEVER_SOON = '0 0 1 1 *';

interface LogLine {
  level: string;
  message: string;
  target?: string;
  step?: string;
}

class Daemon {
  private constructor(
    readonly run: ChildRun,
    private text = '',
  ) {
    run.child.stderr!.on('data', (c: Buffer) => (this.text += c.toString()));
  }
  static async start(world: World): Promise<Daemon> {
    return new Daemon(await spawnCli(['daemon', '--config', world.configPath], { ...AWS_ENV, LOG_FORMAT: 'json' }));
  }
  lines(): LogLine[] {
    return this.text
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);
  }
  count(pattern: RegExp, from = 0): number {
    return this.lines()
      .slice(from)
      .filter((l) => pattern.test(l.message)).length;
  }
  /** Waits until `check` holds, polling; fails with the log if it does not within `ms`. */
  async until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; log:\n${this.text.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  healthUrl(): string {
    const m = /health endpoint listening on (http:\/\/[\w.:[\]]+)/.exec(this.text);
    if (!m) throw new Error('no health endpoint in the log');
    return m[1]!;
  }
  signal(s: NodeJS.Signals): void {
    this.run.child.kill(s);
  }
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.signal('SIGTERM');
    return this.run.done;
  }
}

let world: World | undefined;
let daemon: Daemon | undefined;
afterEach(async () => {
  if (daemon && daemon.run.child.exitCode === null) daemon.run.child.kill('SIGKILL');
  await daemon?.run.done;
  daemon = undefined;
  await world?.close();
  world = undefined;
});

async function config(w: World, target: Record<string, unknown>, daemonSection: Record<string, unknown>) {
  await w.writeConfig([{ gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 }, ...target }], {
    daemon: daemonSection,
  });
}

describe('daemon', () => {
  it('runs on its cron schedule, skips a tick whose previous run is still going, never runs two at once', async () => {
    world = await World.start('file');
    await world.seedAdmin('auth-token');
    await config(world, {}, { schedule: EVERY_SECOND, runOnStart: false, health: { port: 0 } });
    expect((await world.cli(['rotate'])).code).toBe(0); // the first key, so that each run only looks
    world.twilio.controls.latencyMs = 1100; // every run outlasts the one-second tick
    daemon = await Daemon.start(world);
    await daemon.until(
      'three runs and a skipped tick',
      () => {
        const d = daemon!;
        return d.count(/^run finished/) >= 3 && d.count(/^tick skipped/) >= 1;
      },
      30_000,
    );

    // Runs never overlap: each start is followed by its finish before the next start.
    const runs = daemon.lines().filter((l) => l.step === 'run');
    runs.forEach((l, i) =>
      expect(l.message, `run log line ${i}`).toMatch(i % 2 === 0 ? /^run started/ : /^run finished/),
    );
    expect(daemon.lines().find((l) => /^tick skipped/.test(l.message))?.message).toContain('still in progress');

    const url = daemon.healthUrl();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const healthz = await fetch(`${url}/healthz`);
    expect(healthz.status).toBe(200);
    const readyz = await fetch(`${url}/readyz`);
    expect([readyz.status, await readyz.text()]).toEqual([200, 'ready\n']);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^twilio_key_rotator_runs_total\{target="app",result="done"\} [1-9]/m);
    expect(metrics).toMatch(/^twilio_key_rotator_ticks_skipped_total\{target="app"\} [1-9]/m);
    expect(metrics).toMatch(/^twilio_key_rotator_credential_age_seconds\{target="app",kind="api-key"\} \d+$/m);
    expect(metrics).toMatch(/^twilio_key_rotator_rotations_total\{target="app",kind="api-key"\} 0$/m);
    expect((await fetch(`${url}/metrics`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${url}/nothing`)).status).toBe(404);

    expect(await daemon.stop()).toMatchObject({ code: 0, signal: null });
  }, 60_000);

  it('on SIGTERM mid-rotation finishes the step in flight, starts nothing new; the next run resumes', async () => {
    world = await World.start('file');
    await world.seedAdmin('auth-token');
    // An adopted key 40 days old: due at once.
    const old = world.twilio.seedKey({ type: 'standard', friendlyName: 'made-by-hand' });
    await fileStore(world.storePath, () => Date.now() - 40 * DAY).create(
      'twilio/app',
      randomBytes(16).toString('hex'),
      JSON.stringify({ accountSid: world.accountSid, apiKeySid: old.sid, apiKeySecret: old.secret }),
    );
    await config(world, {}, { schedule: NEVER_SOON, runOnStart: true });
    world.twilio.controls.latencyMs = 400;
    daemon = await Daemon.start(world);
    await daemon.until('the new key to be stored', () => daemon!.lines().some((l) => l.step === 'start-rotation'));
    const exit = await daemon.stop();
    expect(exit).toMatchObject({ code: 0, signal: null });
    const lines = daemon.lines();
    expect(
      lines.find((l) => /^stopping before/.test(l.message)),
      'a deferred step',
    ).toBeDefined();
    expect(lines.at(-1)?.message).toBe('daemon stopped');

    // Mid-rotation: the new key is pending, the old one still current and alive.
    const mid = await labelledKeys(world);
    expect(mid.current?.apiKeySid).toBe(old.sid);
    expect(mid.pending).toBeDefined();
    expect(world.liveKeys()).toEqual(expect.arrayContaining([old.sid, mid.pending!.apiKeySid]));

    world.twilio.controls.latencyMs = 0;
    const next = await world.cli(['rotate']);
    expect(next.code, next.stderr).toBe(0);
    const after = await labelledKeys(world);
    expect(after.current?.apiKeySid).toBe(mid.pending!.apiKeySid);
    expect(await authenticates(world, after.current)).toBe(true);
    expect(world.liveKeys()).not.toContain(old.sid);
    expect(await unreferencedRotatorKeys(world, 'rot-app-')).toEqual([]);
  }, 60_000);

  it('on SIGHUP refuses an invalid configuration and keeps running the old one; a valid one applies', async () => {
    world = await World.start('file');
    await world.seedAdmin('auth-token');
    await config(world, {}, { schedule: EVERY_SECOND, runOnStart: false });
    const good = world.configObject([{ gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 } }], {
      daemon: { schedule: EVERY_SECOND, runOnStart: false },
    });
    daemon = await Daemon.start(world);
    await daemon.until('a first run', () => daemon!.count(/^run finished/) >= 1);

    const bad = structuredClone(good) as any;
    bad.daemon.schedule = 'every second';
    bad.targets[0].gate.minOverlapSeconds = -1;
    await writeFile(world.configPath, stringify(bad));
    daemon.signal('SIGHUP');
    await daemon.until('the refusal', () => daemon!.count(/^configuration reload \(SIGHUP\) refused/) === 1);
    const refusal = daemon.lines().find((l) => /refused/.test(l.message))!;
    expect(refusal.level).toBe('error');
    expect(refusal.message).toContain('daemon.schedule: must be a cron expression');
    expect(refusal.message).toContain('targets.0.gate.minOverlapSeconds: must be 0 or more');
    const at = daemon.lines().length;
    await daemon.until('runs on the old configuration', () => daemon!.count(/^run finished/, at) >= 2);

    const paused = structuredClone(good) as any;
    paused.targets[0].paused = true;
    await writeFile(world.configPath, stringify(paused));
    daemon.signal('SIGHUP');
    await daemon.until('the reload', () => daemon!.count(/^configuration reloaded \(SIGHUP\)/) === 1);
    // A run already under way may finish; after it, a paused target gets no run.
    await daemon.until('the lane to drain', () => daemon!.count(/^run started/) === daemon!.count(/^run finished/));
    const settled = daemon.lines().length;
    await new Promise((r) => setTimeout(r, 2500));
    expect(daemon.count(/^run started/, settled)).toBe(0);
    expect(await daemon.stop()).toMatchObject({ code: 0, signal: null });
  }, 60_000);

  it('reloads when the file changes with watchConfig, and refuses to start on a bad configuration', async () => {
    world = await World.start('file');
    await world.seedAdmin('auth-token');
    await config(world, {}, { schedule: NEVER_SOON, watchConfig: true });
    daemon = await Daemon.start(world);
    await daemon.until('a first run', () => daemon!.count(/^run finished/) >= 1);
    await config(world, {}, { schedule: EVERY_SECOND, watchConfig: true, runOnStart: false });
    await daemon.until('the reload', () => daemon!.count(/^configuration reloaded \(file changed\)/) === 1);
    await daemon.until('a scheduled run', () => daemon!.count(/^run finished/) >= 2);
    expect(await daemon.stop()).toMatchObject({ code: 0, signal: null });

    await config(world, {}, { schedule: '61 * * * *' });
    const refused = await Daemon.start(world);
    expect(await refused.run.done).toMatchObject({ code: 2 });
    expect((await refused.run.done).stderr).toContain('daemon.schedule: must be a cron expression');
  }, 60_000);
});
