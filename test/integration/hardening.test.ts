import { afterEach, describe, expect, it } from 'vitest';
import { createTwilioClient } from '../support/twilio-client.js';
import { TAG_LAST_ERROR } from '../../src/core/labels.js';
import { authenticates, labelledKeys } from '../support/assertions.js';
import { startProxy, startSilentServer } from '../support/proxy.js';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { sqsQueue } from '../../src/adapters/queue/sqs.js';
import { secretsManagerSigningTokens, validateTwilioWebhook } from '../../src/webhooks.js';
import { cliBin, spawnNode } from '../support/child.js';
import { startHugeAnswerServer, type HugeAnswerServer } from '../support/huge-answer.js';
import { AWS_ENV, World } from '../support/world.js';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Outside trials of the key flow: endpoints that never answer, page links that loop or point away,
 * upstreams that echo credentials, proxies that answer for Twilio, and the failures that used to be quiet.
 */

let world: World | undefined;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await world?.close();
  world = undefined;
});

async function started(kind: 'file' | 'aws' = 'file'): Promise<World> {
  world = await World.start(kind);
  await world.seedAdmin('auth-token');
  return world;
}

describe('bounded: nothing hangs, nothing runs away', () => {
  it(
    'gives up on a Secrets Manager endpoint that never answers, within the retry budget',
    { timeout: 30_000 },
    async () => {
      const w = await started('aws');
      const silent = await startSilentServer();
      cleanups.push(silent.close);
      await w.writeConfig([{}], {
        stores: { aws: { region: 'us-east-1', endpoint: silent.url, timeoutSeconds: 1 } },
        retry: { attempts: 3, budgetSeconds: 2, minDelayMs: 10 },
      });
      const started_ = Date.now();
      const run = await w.cli(['status']);
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/Secrets Manager \w+ on twilio\/(admin|app) failed: .*retry budget of 2 s/);
      expect(Date.now() - started_).toBeLessThan(20_000);
    },
  );

  it('gives up on a Twilio endpoint that never answers, within the retry budget', { timeout: 30_000 }, async () => {
    const w = await started();
    const silent = await startSilentServer();
    cleanups.push(silent.close);
    await w.writeConfig([{}], {
      twilio: { baseUrl: silent.url, timeoutSeconds: 60 },
      retry: { attempts: 3, budgetSeconds: 2, minDelayMs: 10 },
    });
    const run = await w.cli(['rotate']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /Twilio ListKeys on AC[0-9a-f]{32} failed: no answer; no answer within the retry budget of 2 s/,
    );
  });

  it('asks no second time for a key list that just failed, however late its secret is read', async () => {
    const w = await started('aws');
    w.twilio.setResponseMutator('ListKeys', (body) => ({
      ...body,
      meta: { ...body.meta, next_page_url: body.meta.url },
    }));
    const listed = () => w.twilio.controls.log.filter((e) => e.operation === 'ListKeys').length;
    // The target's secret is answered only once the early key list has failed (two pages, a loop).
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const ours = body.includes('"twilio/app"');
        void (async () => {
          for (let waited = 0; ours && listed() < 2 && waited < 5_000; waited += 10)
            await new Promise((resolve) => setTimeout(resolve, 10));
          const forward = request(new URL(req.url ?? '/', w.sm.url), { method: req.method, headers: req.headers });
          forward.on('response', (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          });
          forward.end(body);
        })();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await w.writeConfig([{}], { stores: { aws: { region: 'us-east-1', endpoint } } });
    w.resetLogs();
    const run = await w.cli(['rotate']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('the key list handed back a next page it had already served; refusing to loop');
    expect(listed()).toBe(2);
    expect(w.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
  });

  it('refuses a next-page link that loops, after one repeat', async () => {
    const w = await started();
    await w.writeConfig();
    w.twilio.setResponseMutator('ListKeys', (body) => ({
      ...body,
      meta: { ...body.meta, next_page_url: body.meta.url },
    }));
    w.resetLogs();
    const run = await w.cli(['rotate']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('the key list handed back a next page it had already served; refusing to loop');
    expect(w.twilio.controls.log.filter((e) => e.operation === 'ListKeys').length).toBeLessThanOrEqual(3);
    expect(w.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
  });

  it('never sends the admin credential to a host a next-page link points at', async () => {
    const w = await started();
    const elsewhere = await startProxy('http://127.0.0.1:9', () => ({ status: 200, body: '{}' }));
    cleanups.push(elsewhere.close);
    await w.writeConfig();
    w.twilio.setResponseMutator('ListKeys', (body) => ({
      ...body,
      meta: {
        ...body.meta,
        next_page_url: `${elsewhere.url}/v1/Keys?AccountSid=${w.accountSid}&PageSize=50&Page=1&PageToken=PT50`,
      },
    }));
    const run = await w.cli(['rotate']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      new RegExp(
        String.raw`pointed its next page at http:\/\/127\.0\.0\.1:\d+, which is neither Twilio's IAM host ` +
          String.raw`nor twilio\.baseUrl; nothing was sent there`,
      ),
    );
    expect(elsewhere.seen).toEqual([]);
  });
});

describe('secrets stay secret and whole', () => {
  it('redacts an upstream error that echoes the Authorization header', async () => {
    const w = await started();
    const proxy = await startProxy(w.twilio.url, (req) =>
      req.method === 'POST' && req.path.startsWith('/v1/Keys')
        ? {
            status: 400,
            body: JSON.stringify({
              code: 20001,
              status: 400,
              message: `bad request: you sent Authorization: ${String(req.headers.authorization)}`,
            }),
          }
        : undefined,
    );
    cleanups.push(proxy.close);
    await w.writeConfig([{}], { twilio: { baseUrl: proxy.url, timeoutSeconds: 5 } });
    const run = await w.cli(['rotate']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('you sent Authorization: Basic [REDACTED]');
    const header = Buffer.from(`${w.accountSid}:${w.twilio.authToken()}`).toString('base64');
    expect(run.stdout + run.stderr).not.toContain(header);
  });

  it('keeps every field a consumer added to the secret through a rotation', async () => {
    const w = await started();
    const old = w.twilio.seedKey({ type: 'standard', friendlyName: 'by-hand' });
    const extra = { region: 'eu', webhookPath: '/hooks/sms', nested: { retries: 3 } };
    await w
      .store()
      .create(
        'twilio/app',
        'a'.repeat(32),
        JSON.stringify({ accountSid: w.accountSid, apiKeySid: old.sid, apiKeySecret: old.secret, ...extra }),
      );
    await w.writeConfig([{ gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 } }]);
    expect((await w.cli(['rotate', '--force'])).code).toBe(0);
    const secret = await w.store().read('twilio/app');
    const current = JSON.parse(secret!.versions.find((v) => v.stages.includes('AWSCURRENT'))!.value!) as Record<
      string,
      unknown
    >;
    expect(current).toMatchObject(extra);
    expect(current.apiKeySid).not.toBe(old.sid);
  });

  it('never quotes a malformed current value, in confirm either', async () => {
    const w = await started();
    await w.store().create('twilio/app', 'b'.repeat(32), 'Ak3uTq9Zr2LmXw7PpQe4 not json');
    await w.writeConfig();
    const run = await w.cli(['confirm', 'app']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/secret "twilio\/app" AWSCURRENT version b{32}: value is not JSON/);
    expect(run.stdout + run.stderr).not.toMatch(/Ak3u|not json/);
  });
});

describe('evidence, not hope', () => {
  it("takes no proxy's HTML 200 for a working key; keeps the new key, finishes once Twilio answers", async () => {
    const w = await started();
    const original = await w.seedCurrentKey();
    let html = false;
    const proxy = await startProxy(w.twilio.url, (req) =>
      html && req.path.includes('/IncomingPhoneNumbers.json')
        ? { status: 200, headers: { 'content-type': 'text/html' }, body: '<html>Welcome to the hotel wifi</html>' }
        : undefined,
    );
    cleanups.push(proxy.close);
    await w.writeConfig([{ gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 } }], {
      twilio: { baseUrl: proxy.url, timeoutSeconds: 5 },
    });
    expect((await w.cli(['rotate'])).code).toBe(0);
    html = true;
    const run = await w.cli(['rotate', '--force']);

    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/FAILED at verify-pending: .*answered HTTP 200 with text\/html, not Twilio's JSON/);
    const { current, pending } = await labelledKeys(w);
    expect(current?.apiKeySid).toBe(original);
    expect(pending && w.liveKeys().includes(pending.apiKeySid)).toBe(true);
    html = false;
    const again = await w.cli(['rotate']);
    expect(again.stdout).toContain('app: done.');
    expect((await labelledKeys(w)).current?.apiKeySid).toBe(pending!.apiKeySid);
  });

  it('leaves a young Secrets Manager rotation alone, keeps the last error, reports it stuck once old', async () => {
    const w = await started('aws');
    await w.seedCurrentKey();
    await w.writeConfig();
    expect((await w.cli(['rotate'])).code).toBe(0);
    await w.store().setTags('twilio/app', { [TAG_LAST_ERROR]: '2026-11-30T00:00:00Z earlier failure' });
    w.sm.beginRotation('twilio/app', 'c'.repeat(32));
    const young = await w.cli(['rotate']);
    expect(young.code).toBe(0);
    expect(young.stdout).toContain('nothing to do now: a Secrets Manager rotation is in progress');
    expect((await labelledKeys(w)).tags[TAG_LAST_ERROR]).toContain('earlier failure');

    w.sm.setClock(() => Date.now() - 2 * 3_600_000);
    w.sm.beginRotation('twilio/app', 'd'.repeat(32));
    w.sm.setClock(Date.now);
    const old = await w.cli(['rotate']);
    expect(old.code).toBe(1);
    expect(old.stdout).toMatch(
      new RegExp(
        String.raw`STUCK[\s\S]*version d{32} is AWSPENDING with no value yet\) since .*cancel-rotate-secret ` +
          String.raw`--secret-id twilio\/app`,
      ),
    );
    expect((await w.cli(['status'])).code).toBe(1);
  });

  it('converges after a first run whose key fails verification, once the configuration is fixed', async () => {
    const w = await started();
    const numbers = `https://api.twilio.com/2010-04-01/Accounts/${w.accountSid}/IncomingPhoneNumbers.json`;
    const target = (allow: string[]) => [
      {
        keyType: 'restricted' as const,
        policy: { allow },
        validationUrl: numbers,
        gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 },
      },
    ];
    await w.writeConfig(target(['/twilio/messaging/messages/list']));
    const first = await w.cli(['rotate']);
    expect(first.code).toBe(1);
    expect(first.stdout).toContain('add /twilio/numbers/incoming-phone-numbers/list to the policy');
    expect(first.stderr).toMatch(/"level":"error"/);
    const broken = (await labelledKeys(w)).current!.apiKeySid;

    // Unchanged configuration: a new key would be refused the same way, so none is made.
    w.resetLogs();
    expect((await w.cli(['rotate'])).code).toBe(1);
    expect(w.twilio.controls.log.filter((e) => e.operation === 'CreateKey')).toEqual([]);
    expect((await w.cli(['status'])).code).toBe(1);

    await w.writeConfig(target(['/twilio/messaging/messages/list', '/twilio/numbers/incoming-phone-numbers/list']));
    const fixed = await w.cli(['rotate']);
    expect(fixed.code, fixed.stdout).toBe(0);
    expect(fixed.stdout).toContain('app: done.');
    const { current } = await labelledKeys(w);
    expect(current!.apiKeySid).not.toBe(broken);
    expect(w.liveKeys()).not.toContain(broken);
    expect((await w.cli(['status'])).code).toBe(0);
  });
});

describe('loud failures and clear messages', () => {
  it('refuses an unknown LOG_LEVEL or LOG_FORMAT with exit 2, naming the variable', async () => {
    const w = await started();
    await w.writeConfig();
    const level = await w.cli(['status'], { LOG_LEVEL: 'warning' });
    expect(level.code).toBe(2);
    expect(level.stderr).toMatch(/LOG_LEVEL: must be one of error, warn, info/);
    const format = await w.cli(['status'], { LOG_FORMAT: 'xml' });
    expect(format.code).toBe(2);
    expect(format.stderr).toMatch(/LOG_FORMAT: must be "json" or "text"/);
  });

  it('exits 1 from status when the current key is gone, and says what the next rotate will do', async () => {
    const w = await started();
    await w.writeConfig();
    expect((await w.cli(['rotate'])).code).toBe(0);
    const healthy = await w.cli(['status']);
    expect(healthy.code).toBe(0);
    expect(healthy.stdout).toMatch(/next rotate: +nothing: current SK[0-9a-f]{32} is fine until/);
    const { current } = await labelledKeys(w);
    await createTwilioClient(
      { username: w.accountSid, password: w.twilio.authToken(), accountSid: w.accountSid },
      { baseUrl: w.twilio.url },
    )
      .iam.v1.apiKey(current!.apiKeySid)
      .remove();
    const gone = await w.cli(['status']);
    expect(gone.code).toBe(1);
    expect(gone.stdout).toMatch(
      new RegExp(
        String.raw`needs attention[\s\S]*next rotate: +create key "rot-app-[0-9a-f]{32}" and store it as ` +
          String.raw`AWSPENDING .*no longer exists on Twilio`,
      ),
    );
  });

  it('rotates a target named twice only once', async () => {
    const w = await started();
    await w.writeConfig();
    const run = await w.cli(['rotate', '--target', 'app', '--target', 'app']);
    expect(run.stdout.match(/^app: /gm)).toHaveLength(1);
  });

  it('takes secret ids like __proto__ as names', async () => {
    const w = await started();
    await w.writeConfig([{ secretId: '__proto__' }]);
    const run = await w.cli(['rotate']);
    expect(run.code, run.stdout).toBe(0);
    expect(await authenticates(w, (await labelledKeys(w, '__proto__')).current)).toBe(true);
  });

  it('lets the configuration, not TWILIO_REGION in the environment, decide where requests go', async () => {
    const w = await started();
    const proxy = await startProxy(w.twilio.url);
    cleanups.push(proxy.close);
    await w.writeConfig([{}], { twilio: { baseUrl: proxy.url, timeoutSeconds: 5 } });
    const saved = { region: process.env.TWILIO_REGION, edge: process.env.TWILIO_EDGE };
    Object.assign(process.env, { TWILIO_REGION: 'ie1', TWILIO_EDGE: 'dublin' });
    try {
      expect((await w.cli(['rotate'])).code).toBe(0);
    } finally {
      for (const [k, v] of [
        ['TWILIO_REGION', saved.region],
        ['TWILIO_EDGE', saved.edge],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    const hosts = new Set(proxy.seen.map((r) => r.headers['x-twilio-original-host']));
    expect([...hosts].sort()).toEqual(['api.twilio.com', 'iam.twilio.com']);
  });
});

describe('confirm with nothing waiting', () => {
  it('says nothing waits for a confirmation, exits 2 and writes nothing (API key, Auth Token)', async () => {
    const w = await started('aws');
    await w.seedCurrentKey();
    await w.seedToken();
    await w.writeConfig([{}, { kind: 'auth-token' }]);
    const before = {
      app: (await w.store().read('twilio/app'))!.tags,
      token: (await w.store().read('twilio/token'))!.tags,
    };
    w.resetLogs();
    const key = await w.cli(['confirm', 'app']);
    expect(key.code).toBe(2);
    expect(key.stderr).toMatch(/target "app": nothing waits for a confirmation: no old key is waiting to be retired/);
    expect(key.stdout).not.toMatch(/may go on/);
    const token = await w.cli(['confirm', 'token']);
    expect(token.code).toBe(2);
    expect(token.stderr).toMatch(/target "token": nothing waits for a confirmation: no new token is pending/);
    expect(w.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
    expect((await w.store().read('twilio/app'))!.tags).toEqual(before.app);
    expect((await w.store().read('twilio/token'))!.tags).toEqual(before.token);
  });
});

describe('bounded answers: 3 GB from anywhere costs a bounded number of bytes', () => {
  /** The peak resident memory of a child, printed by a preload as it exits (kilobytes, from the kernel). */
  const PRINT_RSS = "writeSync(2, '\\nmax-rss-kib=' + process.resourceUsage().maxRSS + '\\n')";
  const MAX_RSS = `data:text/javascript,${encodeURIComponent(
    `import { writeSync } from 'node:fs'; process.on('exit', () => ${PRINT_RSS});`,
  )}`;
  const RSS_LIMIT_KIB = 150 * 1024;
  /** What a reader may leave in flight past its bound: socket buffers, never the answer. */
  const MOST_SENT = 64 * 1024 ** 2;

  let huge: HugeAnswerServer;
  const measured = async (w: World, args: string[], env: NodeJS.ProcessEnv = {}) => {
    const child = spawnNode(['--import', MAX_RSS, await cliBin(), ...args, '--config', w.configPath], {
      ...AWS_ENV,
      ...env,
    });
    const run = await child.done;
    const rssKiB = Number(/max-rss-kib=(\d+)/.exec(run.stderr)?.[1] ?? NaN);
    return { ...run, rssKiB };
  };
  const cutShort = () => {
    expect(huge.answers.length).toBeGreaterThan(0);
    for (const a of huge.answers) {
      expect(a.finished, `${a.request} was read to its end`).toBe(false);
      expect(a.sentBytes, a.request).toBeLessThan(MOST_SENT);
    }
  };
  afterEach(() => huge?.close());

  it(
    'alert receivers (Slack, PagerDuty, webhook, SNS) answering 3 GB: RSS under 150 MiB, exit code unchanged',
    { timeout: 120_000 },
    async () => {
      huge = await startHugeAnswerServer();
      const w = await World.start('file');
      world = w;
      await w.seedAdmin('standard'); // Twilio refuses a Standard key on /v1/Keys: step-failed, exit 1, every run
      await w.seedCurrentKey();
      const channel = { timeoutSeconds: 60, attempts: 1 };
      await w.writeConfig([{}], {
        alerts: {
          budgetSeconds: 300,
          channels: [
            { name: 'slack', type: 'slack', webhookUrlEnv: 'TKR_HUGE_SLACK_URL', ...channel },
            {
              name: 'pager',
              type: 'pagerduty',
              routingKeyEnv: 'TKR_HUGE_PD_KEY',
              url: `${huge.url}/v2/enqueue`,
              ...channel,
            },
            {
              name: 'hooks',
              type: 'webhook',
              url: `${huge.url}/hook`,
              secretEnv: 'TKR_HUGE_WEBHOOK_SECRET',
              ...channel,
            },
            {
              name: 'topic',
              type: 'sns',
              topicArn: 'arn:aws:sns:us-east-1:000000000000:t',
              endpoint: huge.url,
              ...channel,
            },
          ],
        },
      });
      const run = await measured(w, ['rotate'], {
        TKR_HUGE_SLACK_URL: `${huge.url}/slack`,
        TKR_HUGE_PD_KEY: 'R'.repeat(32),
        TKR_HUGE_WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
      });
      expect(run.code, run.stderr.slice(-2000)).toBe(1);
      expect(run.stdout).toMatch(/app: FAILED at observe: .*20003/);
      expect(run.rssKiB).toBeLessThan(RSS_LIMIT_KIB);
      expect(huge.answers.map((a) => a.request.split(' ')[0])).toEqual(['POST', 'POST', 'POST', 'POST']);
      cutShort();
      // Slack, PagerDuty and the webhook answered 200: delivered. SNS's answer is not SNS's: refused.
      expect(run.stderr).toMatch(/\(sns\): not delivered: SNS answered more than 1 MiB; the rest was not read/);
      expect(run.stderr).toMatch(/alert sent to hooks \(webhook\)/);
    },
  );

  it('a consumer probe answering 3 GB fails the probe, and the gate waits', { timeout: 120_000 }, async () => {
    huge = await startHugeAnswerServer();
    const w = await started();
    await w.seedCurrentKey();
    await w.writeConfig([
      {
        gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600, probes: [{ url: `${huge.url}/health`, field: 'keySid' }] },
      },
    ]);
    const run = await measured(w, ['rotate', '--force']);
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    expect(run.stdout).toMatch(/answered more than 64 KiB; the rest was not read/);
    expect(run.rssKiB).toBeLessThan(RSS_LIMIT_KIB);
    cutShort();
  });

  it(
    'Twilio (or what answers for it) and Secrets Manager answering 3 GB: refused unread',
    { timeout: 120_000 },
    async () => {
      huge = await startHugeAnswerServer();
      const w = await started('aws');
      await w.seedCurrentKey();
      await w.writeConfig([{}], { twilio: { baseUrl: huge.url, timeoutSeconds: 60 } });
      const twilio = await measured(w, ['status']);
      expect(twilio.code).toBe(1);
      expect(twilio.stdout).toMatch(/answered more than 8 MiB; the rest was not read/);
      expect(twilio.rssKiB).toBeLessThan(RSS_LIMIT_KIB);
      await w.writeConfig([{}], { stores: { aws: { region: 'us-east-1', endpoint: huge.url, timeoutSeconds: 60 } } });
      const sm = await measured(w, ['status']);
      expect(sm.code).toBe(1);
      expect(sm.stdout).toMatch(/Secrets Manager answered more than 8 MiB/);
      expect(sm.rssKiB).toBeLessThan(RSS_LIMIT_KIB);
      cutShort();
    },
  );

  it('SQS answering 3 GB: every body reported unsent, nothing buffered', { timeout: 60_000 }, async () => {
    huge = await startHugeAnswerServer();
    const queue = sqsQueue({
      queueUrl: `${huge.url}/000000000000/shards`,
      region: 'us-east-1',
      timeoutMs: 60_000,
      retry: { attempts: 1, budgetMs: 60_000, minDelayMs: 1 },
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    });
    const unsent = await queue.send(['{"a":1}', '{"b":2}']);
    expect(unsent.map((u) => u.index)).toEqual([0, 1]);
    expect(unsent[0]!.why).toMatch(/SQS answered more than 1 MiB/);
    cutShort();
  });
});

describe('rotate --now and the webhook helper, on Secrets Manager', () => {
  it('refuses the leaked token the moment the new one is promoted: no grace', async () => {
    const w = await started('aws');
    const leaked = await w.seedToken();
    await w.writeConfig([{ kind: 'auth-token' }]);
    const run = await w.cli(['rotate', '--now', 'token', '--overlap', '0']);
    expect(run.code, run.stderr).toBe(0);
    const tags = (await w.store().read('twilio/token'))!.tags;
    expect(Object.keys(tags).filter((k) => k.startsWith('rotator:leaked:'))).toHaveLength(1);
    const load = secretsManagerSigningTokens({
      secretId: 'twilio/token',
      client: new SecretsManagerClient({
        region: 'us-east-1',
        endpoint: w.sm.url,
        credentials: { accessKeyId: AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: AWS_ENV.AWS_SECRET_ACCESS_KEY },
      }),
    });
    const tokens = await load();
    expect(tokens).toEqual({ current: w.twilio.authToken() });
    const url = 'https://hooks.example.com/twilio/sms';
    const params = { From: '+15551234567', Body: 'forged' };
    const forged = { signature: getExpectedTwilioSignature(leaked, url, params), url, params };
    expect(validateTwilioWebhook(tokens, forged)).toMatchObject({ valid: false });
  });
});
