import { createHmac, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createDaemon, type Daemon } from '../../src/entry/daemon/daemon.js';
import { createLogger } from '../../src/log.js';
import { startGithubEmulator, type GithubEmulator } from '../emulators/github/index.js';
import { startWebhookReceiver } from '../emulators/receivers/index.js';
import { authenticates, labelledKeys } from '../support/assertions.js';
import { AWS_ENV, World } from '../support/world.js';

/**
 * Leak reports on the daemon's endpoint, in-process: a GitHub secret_scanning_alert or a Standard
 * Webhooks report matched to a target by reference, then the emergency rotation; anything
 * unverifiable or unmatched changes nothing. Twilio, the store and GitHub are emulators.
 */

const HOOK_SECRET = 'github-webhook-secret-for-tests';
const GH_TOKEN = `ghp_${randomBytes(18).toString('hex')}`;
const SIGNING = `whsec_${randomBytes(32).toString('base64')}`;
const ENV = { GH_HOOK_SECRET: HOOK_SECRET, GH_TOKEN, LEAK_SIGNING: SIGNING };

let world: World | undefined;
let github: GithubEmulator | undefined;
let daemon: Daemon | undefined;
let logText = '';
afterEach(async () => {
  await daemon?.stop('test over');
  await github?.close();
  await world?.close();
  world = github = daemon = undefined;
  logText = '';
});

async function start(
  options: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
  env = {},
  edit: (config: { targets: Record<string, unknown>[] }) => void = () => undefined,
) {
  world = await World.start('file');
  github = await startGithubEmulator({ token: GH_TOKEN });
  const { githubTimeoutSeconds, ...leakReports } = options;
  await world.seedAdmin('main');
  const sid = await world.seedCurrentKey();
  const stored = await world.store().read('twilio/app');
  const keySecret = (JSON.parse(stored!.versions[0]!.value!) as { apiKeySecret: string }).apiKeySecret;
  const config = world.configObject([{ gate: { minOverlapSeconds: 86_400, maxWaitSeconds: 604_800 } }], {
    daemon: { schedule: '0 0 1 1 *', runOnStart: false, health: { port: 0 } },
    leakReports: {
      overlapSeconds: 0,
      github: {
        webhookSecretEnv: 'GH_HOOK_SECRET',
        tokenEnv: 'GH_TOKEN',
        apiUrl: github.url,
        ...(githubTimeoutSeconds ? { timeoutSeconds: githubTimeoutSeconds } : {}),
      },
      signed: { secretEnv: 'LEAK_SIGNING' },
      ...leakReports,
    },
    ...extra,
  });
  edit(config as { targets: Record<string, unknown>[] });
  await writeFile(world.configPath, stringify(config));
  const stream = new PassThrough();
  stream.on('data', (c: Buffer) => {
    logText += c.toString();
    world?.record(c.toString());
  });
  daemon = await createDaemon({
    configPath: world.configPath,
    env: { ...process.env, ...AWS_ENV, ...ENV, ...env },
    logger: createLogger({ stream, json: true }),
  });
  return { world, github, daemon, sid, keySecret, url: daemon.healthUrl! };
}

const githubBody = (number: number, action = 'created') =>
  JSON.stringify({
    action,
    alert: {
      number,
      secret_type: 'twilio_api_key',
      html_url: `https://github.com/acme/app/security/secret-scanning/${number}`,
    },
    repository: { full_name: 'acme/app', name: 'app', owner: { login: 'acme' } },
  });

function postGithub(url: string, body: string, secret = HOOK_SECRET, event = 'secret_scanning_alert') {
  const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  return fetch(`${url}/leaks/github`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': 'd1',
      'x-hub-signature-256': signature,
    },
    body,
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
}

function postSigned(url: string, data: Record<string, unknown>, o: { id?: string; atS?: number; key?: string } = {}) {
  const body = JSON.stringify({ type: 'credential.leaked', timestamp: new Date().toISOString(), data });
  const id = o.id ?? `msg_${randomBytes(8).toString('hex')}`;
  const ts = String(o.atS ?? Math.floor(Date.now() / 1000));
  const key = Buffer.from((o.key ?? SIGNING).slice('whsec_'.length), 'base64');
  const sig = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64');
  return fetch(`${url}/leaks/report`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': ts,
      'webhook-signature': `v1,${sig}`,
    },
    body,
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
}

describe('leak reports', () => {
  it('rotates at once when GitHub secret scanning finds the current key secret, and names only its SID', async () => {
    const { world: w, github: gh, daemon: d, sid, keySecret, url } = await start();
    gh.addAlert('acme/app', { number: 7, secret: keySecret, path: 'deploy/.env', line: 3 });
    const reply = await postGithub(url, githubBody(7));
    expect(reply).toEqual({ status: 202, body: { status: 'rotating', target: 'app', ref: sid } });
    await d.idle();
    expect(w.liveKeys()).not.toContain(sid);
    const { current } = await labelledKeys(w);
    expect(current!.apiKeySid).not.toBe(sid);
    expect(await authenticates(w, current)).toBe(true);
    expect(logText).toMatch(
      new RegExp(
        [
          `LEAK of ${sid} \\(AWSCURRENT\\) of target app reported by GitHub secret scanning \\(twilio_api_key\\)`,
          `at https://github.com/acme/app/security/secret-scanning/7 \\(deploy/.env:3\\)`,
        ].join(' '),
      ),
    );
    expect(logText).toContain('EMERGENCY rotation of app finished');
    expect(gh.controls.log).toHaveLength(1);
    for (const secret of [keySecret, GH_TOKEN, HOOK_SECRET]) expect(logText).not.toContain(secret);
  });

  it("answers a report that waited longer than the endpoint's 5-second idle limit on GitHub", async () => {
    const { github: gh, daemon: d, sid, keySecret, url } = await start({ githubTimeoutSeconds: 9 });
    gh.addAlert('acme/app', { number: 11, secret: keySecret });
    gh.controls.setFaults({ sequence: ['slow'], slowMs: 6000 });
    expect(await postGithub(url, githubBody(11))).toMatchObject({ status: 202, body: { ref: sid } });
    await d.idle();
  }, 20_000);

  it('names the key in the LEAK line when GitHub reports its SID', async () => {
    const { github: gh, daemon: d, sid, url } = await start();
    gh.addAlert('acme/app', { number: 12, secret: sid });
    expect(await postGithub(url, githubBody(12))).toMatchObject({ status: 202, body: { ref: sid } });
    await d.idle();
    expect(logText).toContain(`LEAK of ${sid} (AWSCURRENT) of target app`);
  });

  it('ignores a GitHub report whose signature does not verify: no GitHub call, no change', async () => {
    const { world: w, github: gh, sid, keySecret, url } = await start();
    gh.addAlert('acme/app', { number: 8, secret: keySecret });
    w.resetLogs();
    const reply = await postGithub(url, githubBody(8), 'not-the-secret');
    expect(reply.status).toBe(401);
    expect(logText).toContain('leak report ignored, nothing changed: X-Hub-Signature-256 does not verify');
    expect(gh.controls.log).toHaveLength(0);
    expect(w.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
    expect(w.liveKeys()).toContain(sid);
  });

  it('answers GitHub pings, ignores other actions, and ignores an alert that matches no target', async () => {
    const { world: w, github: gh, sid, url } = await start();
    expect((await postGithub(url, '{"zen":"Keep it logically awesome."}', HOOK_SECRET, 'ping')).body).toEqual({
      status: 'pong',
    });
    expect((await postGithub(url, githubBody(9, 'resolved'))).status).toBe(200);
    gh.addAlert('acme/app', { number: 10, secret: randomBytes(16).toString('hex') });
    w.resetLogs();
    const reply = await postGithub(url, githubBody(10));
    expect(reply).toMatchObject({ status: 200, body: { status: 'ignored' } });
    expect(logText).toContain("matches no configured target's credential");
    expect(w.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
    expect(w.liveKeys()).toContain(sid);
  });

  it('rotates on a Standard Webhooks report naming the key SID; refuses replays, stale and forged ones', async () => {
    const { world: w, daemon: d, sid, url } = await start();
    const forged = await postSigned(url, { keySid: sid }, { key: `whsec_${randomBytes(32).toString('base64')}` });
    expect(forged.status).toBe(401);
    const stale = await postSigned(url, { keySid: sid }, { atS: Math.floor(Date.now() / 1000) - 3600 });
    expect(stale).toMatchObject({ status: 401, body: { reason: 'webhook-timestamp is too far from now' } });
    expect(w.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
    const first = await postSigned(
      url,
      { keySid: sid, source: 'gitguardian', foundAt: 'https://gitlab.example/app/-/blob/main/.env' },
      { id: 'msg_1' },
    );
    expect(first).toEqual({ status: 202, body: { status: 'rotating', target: 'app', ref: sid } });
    expect((await postSigned(url, { keySid: sid }, { id: 'msg_1' })).body).toEqual({
      status: 'duplicate',
      id: 'msg_1',
    });
    await d.idle();
    expect(w.liveKeys()).not.toContain(sid);
    // The old key is now retired: a late report of it changes nothing more.
    w.resetLogs();
    const late = await postSigned(url, { keySid: sid });
    expect(late).toMatchObject({ status: 200, body: { status: 'ignored' } });
    expect(logText).toContain(`(${sid} of app) was already retired by the rotator`);
    await d.idle();
    expect(w.mutatingCalls().twilio).toBe(0);
  });

  it("alerts the target's channels with the SID and where it was found, never the credential", async () => {
    const hooks = await startWebhookReceiver();
    try {
      const channel = { name: 'hooks', type: 'webhook', url: hooks.url, secretEnv: 'HOOKS_SECRET' };
      const {
        daemon: d,
        sid,
        keySecret,
        url,
      } = await start({}, { alerts: { channels: [channel] } }, { HOOKS_SECRET: hooks.secret });
      const reply = await postSigned(url, {
        credential: keySecret,
        source: 'gitguardian',
        foundAt: 'https://gitlab.example/app/-/blob/main/.env',
      });
      expect(reply.status).toBe(202);
      await d.idle();
      const leak = hooks.received.find((r) => r.body.data.event === 'leak-reported');
      expect(leak?.body).toMatchObject({
        type: 'rotator.leak_reported',
        data: {
          severity: 'critical',
          target: 'app',
          refs: [sid],
          summary: `app: ${sid} was reported leaked by gitguardian; emergency rotation started`,
          details: ['found at https://gitlab.example/app/-/blob/main/.env'],
        },
      });
      expect(JSON.stringify(hooks.received)).not.toContain(keySecret);
    } finally {
      await hooks.close();
    }
  });

  it('answers 503 when a target could not be read, and looks at the same webhook-id again on retry', async () => {
    const other = (c: { targets: Record<string, unknown>[] }) =>
      c.targets.push({
        ...c.targets[0],
        name: 'other',
        friendlyNamePrefix: 'rot-other-',
        secret: { store: 'aws', secretId: 'twilio/other' },
      });
    const { world: w, url } = await start({}, {}, {}, other);
    w.sm.controls.setFaults({ rate: 1, kinds: ['server-error'] });
    const stranger = { keySid: `SK${'7'.repeat(32)}` };
    expect(await postSigned(url, stranger, { id: 'msg_retry' })).toMatchObject({
      status: 503,
      body: { status: 'retry' },
    });
    expect(logText).toMatch(/leak report not handled: .*some could not be read; unreadable: other/);
    w.sm.controls.clearFaults();
    expect(await postSigned(url, stranger, { id: 'msg_retry' })).toMatchObject({
      status: 200,
      body: { status: 'ignored' },
    });
    expect(w.mutatingCalls().twilio).toBe(0);
  });

  it('refuses a body over 64 KiB and reports beyond the per-minute rate before reading them', async () => {
    const { world: w, sid, url } = await start({ perMinute: 2 });
    const big = await postSigned(url, { credential: 'x'.repeat(70 * 1024) });
    expect(big.status).toBe(413);
    expect((await postSigned(url, { keySid: `SK${'0'.repeat(32)}` })).status).toBe(200);
    expect((await postSigned(url, { keySid: sid })).status).toBe(429);
    expect((await postSigned(url, { keySid: sid })).status).toBe(429);
    // A flood is logged once a minute, not once a request.
    expect(logText.match(/reports in a minute/g)).toHaveLength(1);
    expect(w.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
  });
});
