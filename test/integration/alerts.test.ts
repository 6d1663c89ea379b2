import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RUNBOOK } from '../../src/core/alert.js';
import { spawnCli } from '../support/child.js';
import { recordSecrets } from '../support/scan.js';
import { startReceivers, type Receivers } from '../support/alerting.js';
import { emfLines } from '../support/emf.js';
import { AWS_ENV, World, type StoreKind } from '../support/world.js';

/**
 * Alerts end to end: the real CLI (in process, and as separate processes through the bundled CLI)
 * against the Twilio and Secrets Manager emulators, delivering to local receivers that follow each
 * service's documentation: Slack, PagerDuty Events v2, a webhook endpoint that verifies signatures
 * with the `standardwebhooks` package, and the SNS emulator through @aws-sdk/client-sns.
 */

let rx: Receivers;
let world: World | undefined;
beforeAll(async () => {
  rx = await startReceivers();
  // The rotator reads its channels' secrets from the environment: in process, and in its children.
  Object.assign(process.env, rx.env);
});
afterAll(() => rx.close());
beforeEach(() => rx.reset());
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const STEP_FAILED = 'twilio-key-rotator/app/step-failed';

/** A world whose admin credential is a Standard key: Twilio refuses it on /v1/Keys (20003), every run. */
async function failingWorld(storeKind: StoreKind = 'file', alerts: Record<string, unknown> = rx.config()) {
  const w = await World.start(storeKind);
  await w.seedAdmin('standard');
  await w.seedCurrentKey();
  await w.writeConfig([{}], { alerts });
  return w;
}

/** Makes the admin credential the account's Auth Token: the failure clears. */
async function fixAdmin(w: World) {
  await w
    .store()
    .putCurrent(
      'twilio/admin',
      randomBytes(16).toString('hex'),
      JSON.stringify({ accountSid: w.accountSid, authToken: w.twilio.authToken() }),
    );
}

const snsDocs = () => rx.snsMessages().map((m) => ({ ...m, doc: JSON.parse(m.message) }));

describe('a failed rotation is announced on every channel', () => {
  it('with target, kind, account, step, Twilio error code and runbook; a second run sends nothing new', async () => {
    world = await failingWorld();
    const run = await world.cli(['rotate']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/app: FAILED at observe: .*20003/);
    expect(rx.counts()).toEqual({ slack: 1, pagerduty: 1, webhook: 1, sns: 1 });

    const slack = rx.slack.received[0]!.text;
    expect(slack).toMatch(/\*app: rotation failed at observe\*/);
    expect(slack).toContain(`account ${world.accountSid}`);
    expect(slack).toMatch(/error \(twilio 401 20003\)/);
    expect(slack).toContain(`*What to do:* ${RUNBOOK['step-failed']}`);

    const pd = rx.pagerduty.received[0]!;
    expect(pd).toMatchObject({ event_action: 'trigger', dedup_key: STEP_FAILED, payload: { severity: 'error' } });
    expect(pd.payload!.custom_details).toMatchObject({
      credential: 'api-key',
      step: 'observe',
      error: { remote: { service: 'twilio', status: 401, code: 20003 } },
      runbook: RUNBOOK['step-failed'],
    });
    expect(rx.pagerduty.alerts.get(STEP_FAILED)).toBe('triggered');

    // Verified by the standardwebhooks package, not by our code.
    expect(rx.webhook.rejected).toEqual([]);
    const hook = rx.webhook.received[0]!.body;
    expect(hook.type).toBe('rotator.step_failed');
    expect(hook.data).toMatchObject({
      action: 'trigger',
      target: 'app',
      credential: 'api-key',
      account: world.accountSid,
      step: 'observe',
      dedupKey: STEP_FAILED,
      runbook: RUNBOOK['step-failed'],
    });

    const [sns] = snsDocs();
    expect(sns!.subject).toMatch(/^\[twilio-key-rotator\] app: rotation failed at observe/);
    expect(sns!.doc).toMatchObject({ type: 'rotator.step_failed', data: { target: 'app', dedupKey: STEP_FAILED } });
    expect(sns!.messageAttributes.event).toMatchObject({ DataType: 'String', StringValue: 'step-failed' });

    // The health state is on the secret: the problem, when first seen, when notified.
    const tags = (await world.store().read('twilio/app'))!.tags;
    expect(tags['rotator:alert:step-failed']).toMatch(/^since=\S+Z notified=\S+Z$/);

    const again = await world.cli(['rotate']);
    expect(again.code).toBe(1);
    expect(rx.counts()).toEqual({ slack: 1, pagerduty: 1, webhook: 1, sns: 1 });
  });

  it('never sends from a dry run, and writes no health state', async () => {
    world = await failingWorld();
    world.resetLogs();
    const run = await world.cli(['rotate', '--dry-run']);
    expect(run.code).toBe(1);
    expect(rx.counts()).toEqual({ slack: 0, pagerduty: 0, webhook: 0, sns: 0 });
    expect(world.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
    expect((await world.store().read('twilio/app'))!.tags['rotator:alert:step-failed']).toBeUndefined();
  });
});

describe('bad secret contents', () => {
  it('are announced, but the run writes no health state: zero mutating calls', async () => {
    world = await World.start('aws');
    await world.seedAdmin('auth-token');
    await world.store().create('twilio/app', randomBytes(16).toString('hex'), '{"accountSid": ');
    await world.writeConfig([{}], { alerts: rx.config() });
    world.resetLogs();
    const run = await world.cli(['rotate', '--force']);
    expect(run.code).toBe(1);
    expect(run.stdout + run.stderr).toMatch(/AWSCURRENT version [0-9a-f]{32}: value is not JSON/);
    expect(rx.counts()).toEqual({ slack: 1, pagerduty: 1, webhook: 1, sns: 1 });
    expect(world.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
    expect((await world.store().read('twilio/app'))!.tags).toEqual({});
  });
});

describe('across separate processes (the bundled CLI)', () => {
  it('tells once, reminds after the re-notify interval, resolves after recovery (Secrets Manager tags)', async () => {
    world = await failingWorld('aws');
    const cli = async () => {
      const child = await spawnCli(['rotate', '--config', world!.configPath], { ...AWS_ENV, ...rx.env });
      return child.done;
    };

    expect((await cli()).code).toBe(1);
    expect(rx.counts()).toEqual({ slack: 1, pagerduty: 1, webhook: 1, sns: 1 });
    expect((await cli()).code).toBe(1);
    expect(rx.counts(), 'an open problem is not announced on every run').toEqual({
      slack: 1,
      pagerduty: 1,
      webhook: 1,
      sns: 1,
    });

    // 25 hours pass for the health state: the last notification is older than renotifyHours (24).
    const tag = world.sm.inspect('twilio/app')!.tags['rotator:alert:step-failed']!;
    const since = /since=(\S+)/.exec(tag)![1]!;
    const dayAgo = new Date(Date.now() - 25 * 3_600_000).toISOString();
    await world.store().setTags('twilio/app', { 'rotator:alert:step-failed': `since=${since} notified=${dayAgo}` });
    expect((await cli()).code).toBe(1);
    expect(rx.counts()).toEqual({ slack: 2, pagerduty: 2, webhook: 2, sns: 2 });
    expect(rx.slack.received[1]!.text).toContain('(still open)');
    expect(rx.webhook.received[1]!.body.data).toMatchObject({ renotify: true, firstSeenAt: since });
    expect(rx.pagerduty.received[1]!.dedup_key).toBe(STEP_FAILED);
    expect(rx.webhook.received[1]!.id).not.toBe(rx.webhook.received[0]!.id);

    await fixAdmin(world);
    const fixed = await cli();
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toContain('app: done.');
    expect(rx.counts()).toEqual({ slack: 3, pagerduty: 3, webhook: 3, sns: 3 });
    expect(rx.pagerduty.received[2]).toMatchObject({ event_action: 'resolve', dedup_key: STEP_FAILED });
    expect(rx.pagerduty.alerts.get(STEP_FAILED)).toBe('resolved');
    expect(rx.slack.received[2]!.text).toMatch(/^:white_check_mark: \*app: resolved: step-failed \(open since/);
    expect(rx.webhook.received[2]!.body).toMatchObject({
      type: 'rotator.resolved',
      data: { problem: 'step-failed', action: 'resolve', firstSeenAt: since },
    });
    expect(snsDocs()[2]!.doc.type).toBe('rotator.resolved');
    expect(world.sm.inspect('twilio/app')!.tags['rotator:alert:step-failed']).toBe('');

    // Healthy and nothing due: nothing sent, nothing written.
    world.resetLogs();
    expect((await cli()).code).toBe(0);
    expect(rx.counts()).toEqual({ slack: 3, pagerduty: 3, webhook: 3, sns: 3 });
    expect(world.sm.controls.mutatingCalls()).toEqual([]);
  }, 60_000);
});

describe('delivery failures', () => {
  it("never mask the rotation's own error, never change the exit code, and are retried by the next run", async () => {
    world = await failingWorld();
    for (const r of [rx.slack, rx.pagerduty, rx.webhook]) r.controls.setFaults({ rate: 1, kinds: ['server-error'] });
    rx.sns.controls.setFaults({ rate: 1, kinds: ['server-error'] });
    const run = await world.cli(['rotate']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^app: FAILED at observe: Twilio ListKeys .* failed: HTTP 401, Twilio error 20003/m);
    const errors = run.stderr.split('\n').filter((l) => l.includes('"level":"error"'));
    for (const channel of ['ops-slack', 'pager', 'hooks', 'topic'])
      expect(errors.some((l) => l.includes(`alert channel \\"${channel}\\"`) && l.includes('not delivered'))).toBe(
        true,
      );
    expect(errors.some((l) => l.includes('FAILED') || l.includes('failed at observe'))).toBe(true);
    expect(rx.counts()).toEqual({ slack: 0, pagerduty: 0, webhook: 0, sns: 0 });
    // Each channel retried (3 attempts) before giving up.
    expect(rx.slack.controls.log.length).toBe(3);
    expect(rx.sns.controls.log.length).toBe(3);
    expect((await world.store().read('twilio/app'))!.tags['rotator:alert:step-failed']).toMatch(/notified=-$/);

    for (const r of [rx.slack, rx.pagerduty, rx.webhook]) r.controls.clearFaults();
    rx.sns.controls.clearFaults();
    expect((await world.cli(['rotate'])).code).toBe(1);
    expect(rx.counts()).toEqual({ slack: 1, pagerduty: 1, webhook: 1, sns: 1 });
  });

  it('keep a healthy run at exit 0 even when the opt-in success news cannot be delivered', async () => {
    world = await World.start();
    await world.seedAdmin();
    await world.seedCurrentKey();
    await world.writeConfig([{}], {
      alerts: rx.config({}, { hooks: { events: ['rotation-completed'] } }),
    });
    rx.webhook.controls.setFaults({ rate: 1, kinds: ['server-error'] });
    const run = await world.cli(['rotate', '--force']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('app: done.');
    expect(run.stderr).toMatch(/alert channel \\"hooks\\" \(webhook\): not delivered: HTTP 500/);
    rx.webhook.controls.clearFaults();
    expect((await world.cli(['rotate', '--force'])).code).toBe(0);
    expect(rx.webhook.received.map((w) => w.body.type)).toEqual(['rotator.rotation_completed']);
    expect(rx.counts().slack, 'the other channels did not ask for success news').toBe(0);
  });
});

describe('alerts test', () => {
  beforeEach(async () => {
    world = await World.start();
    await world.writeConfig([{}], { alerts: rx.config() });
  });

  it('sends a clearly marked test alert to every channel; PagerDuty resolves its own at once', async () => {
    const run = await world!.cli(['alerts', 'test']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('ops-slack (slack): test alert delivered');
    expect(rx.slack.received[0]!.text).toMatch(/\[TEST\]/);
    expect(rx.pagerduty.received.map((e) => e.event_action)).toEqual(['trigger', 'resolve']);
    expect(rx.pagerduty.received[0]!.payload!.summary).toMatch(/^\[TEST\]/);
    expect([...rx.pagerduty.alerts.values()]).toEqual(['resolved']);
    expect(rx.webhook.received[0]!.body).toMatchObject({ type: 'rotator.test', data: { test: true } });
    expect(snsDocs()[0]!.subject).toMatch(/^\[TEST\] \[twilio-key-rotator\]/);
  });

  it('sends to the one channel named; an unknown name is a usage error', async () => {
    const one = await world!.cli(['alerts', 'test', '--channel', 'hooks', '--json']);
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toEqual({ channels: [{ channel: 'hooks', type: 'webhook', delivered: true }] });
    expect(rx.counts()).toEqual({ slack: 0, pagerduty: 0, webhook: 1, sns: 0 });
    const unknown = await world!.cli(['alerts', 'test', '--channel', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no alert channel is named "nope"; configured: ops-slack, pager, hooks, topic/);
  });

  it.each([
    ['server-error', 'a 500'],
    ['throttle', 'a 429'],
    ['drop', 'a dropped connection'],
  ] as const)('delivers once on every channel after %s (%s) on each', async (fault, _what) => {
    for (const r of [rx.slack, rx.pagerduty, rx.webhook]) r.controls.setFaults({ sequence: [fault, fault] });
    rx.sns.controls.setFaults({ sequence: [fault, fault] });
    const run = await world!.cli(['alerts', 'test']);
    expect(run.code, run.stdout).toBe(0);
    expect(rx.slack.received).toHaveLength(1);
    expect(rx.pagerduty.received.map((e) => e.event_action)).toEqual(['trigger', 'resolve']);
    expect(rx.webhook.received).toHaveLength(1);
    expect(rx.snsMessages()).toHaveLength(1);
    // Every attempt carried the same webhook-id, each freshly signed; all verified.
    const ids = new Set(rx.webhook.attempts.map((a) => a.id));
    expect(rx.webhook.attempts).toHaveLength(3);
    expect(ids.size).toBe(1);
    expect(rx.webhook.rejected).toEqual([]);
  });

  it('gives up on a silent endpoint within its timeout and attempts, and says so', async () => {
    await world!.writeConfig([{}], {
      alerts: rx.config({}, { hooks: { timeoutSeconds: 0.2, attempts: 2 } }),
    });
    rx.webhook.controls.setFaults({ rate: 1, kinds: ['slow'], slowMs: 5_000 });
    const run = await world!.cli(['alerts', 'test']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/alert channel "hooks" \(webhook\): not delivered: .*no answer within timeoutSeconds/);
    expect(run.stdout).toContain('ops-slack (slack): test alert delivered');
    expect(rx.webhook.attempts).toHaveLength(2);
  });

  it('does not retry an answer that says the webhook is gone (404 no_service)', async () => {
    process.env.TKR_SLACK_WRONG = `${rx.slack.url}/services/TX/BX/${randomBytes(12).toString('hex')}`;
    recordSecrets([process.env.TKR_SLACK_WRONG]);
    await world!.writeConfig([{}], {
      alerts: rx.config({}, { 'ops-slack': { webhookUrlEnv: 'TKR_SLACK_WRONG' } }),
    });
    const run = await world!.cli(['alerts', 'test', '--channel', 'ops-slack'], {
      TKR_SLACK_WRONG: process.env.TKR_SLACK_WRONG,
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^alert channel "ops-slack" \(slack\): not delivered: HTTP 404 \(no_service\)$/m);
    expect(run.stdout).not.toContain(process.env.TKR_SLACK_WRONG);
    expect(rx.slack.controls.log).toHaveLength(1);
  });
});

describe('metrics', () => {
  it('writes one embedded-metric-format line per target with JSON logs, none with metrics.enabled false', async () => {
    world = await World.start();
    await world.seedAdmin();
    await world.writeConfig([{}, {}], { alerts: rx.config() });
    const run = await world.cli(['rotate', '--json']);
    expect(run.code).toBe(0);
    const docs = emfLines(run.stderr);
    expect(docs.map((d) => d.Target)).toEqual(['app', 'app1']);
    expect(docs[0]).toMatchObject({ TargetsChecked: 1, RotationsStarted: 0, RotationsFailed: 0, KeyAgeDays: 0 });
    expect(docs[0]!._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'TwilioKeyRotator',
      Dimensions: [['Target'], []],
    });
    expect(JSON.parse(run.stdout).targets[0].seen, 'what the run saw for alerts stays out of --json').toBeUndefined();

    await world.writeConfig([{}], { alerts: rx.config(), metrics: { enabled: false } });
    expect(emfLines((await world.cli(['rotate', '--json'])).stderr)).toEqual([]);
  });
});
