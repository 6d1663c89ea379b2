import { createHmac, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { parseConfigObject } from '../../src/config/validate.js';
import { ConfigError } from '../../src/errors.js';
import { parseGithubEvent, parseSignedReport } from '../../src/entry/daemon/leaks-parse.js';
import { verifyGithub, verifyStandard } from '../../src/entry/daemon/leaks-verify.js';

/** Leak report signatures, payloads and configuration, without a network. */

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const body = Buffer.from('{"type":"credential.leaked","data":{"keySid":"SK0123456789abcdef0123456789abcdef"}}');

describe('leak report signatures', () => {
  it('accepts what the standardwebhooks package signs, and nothing altered', () => {
    const signature = new Webhook(SECRET).sign('msg_1', new Date(NOW), body.toString());
    const headers = { id: 'msg_1', timestamp: String(NOW / 1000), signature };
    const at = { nowMs: NOW + 1000, toleranceMs: 300_000 };
    expect(verifyStandard(SECRET, headers, body, at)).toEqual({ ok: true, id: 'msg_1' });
    expect(verifyStandard(SECRET, { ...headers, id: 'msg_2' }, body, at).ok).toBe(false);
    expect(verifyStandard(SECRET, headers, Buffer.concat([body, Buffer.from(' ')]), at).ok).toBe(false);
    expect(verifyStandard(SECRET, headers, body, { ...at, nowMs: NOW + 301_000 })).toEqual({
      ok: false,
      why: 'webhook-timestamp is too far from now',
    });
    expect(verifyStandard(SECRET, { ...headers, signature: `v1a,x ${signature}` }, body, at).ok).toBe(true);
  });

  it('checks X-Hub-Signature-256 as GitHub computes it (HMAC-SHA256 hex of the raw body)', () => {
    const good = `sha256=${createHmac('sha256', 'hook').update(body).digest('hex')}`;
    expect(verifyGithub('hook', body, good)).toBe(true);
    expect(verifyGithub('other', body, good)).toBe(false);
    expect(verifyGithub('hook', body, good.replace('sha256=', 'sha1='))).toBe(false);
    expect(verifyGithub('hook', body, 'sha256=zz')).toBe(false);
    expect(verifyGithub('hook', body, undefined)).toBe(false);
  });
});

describe('leak report payloads', () => {
  it('takes exactly one of keySid, tokenFingerprint or credential, each in its own shape', () => {
    const report = (data: unknown) =>
      parseSignedReport(Buffer.from(JSON.stringify({ type: 'credential.leaked', data })));
    expect(
      report({ tokenFingerprint: 'tf_0123456789abcdef', foundAt: 'https://paste.example/x\nforged line' }),
    ).toEqual({
      kind: 'report',
      leak: { tokenFingerprint: 'tf_0123456789abcdef' },
      source: 'a signed leak report',
      where: 'https://paste.example/x forged line',
    });
    expect(report({ keySid: 'SK12', credential: 'x' })).toMatchObject({ kind: 'invalid' });
    expect(report({ keySid: 'SK12' })).toEqual({
      kind: 'invalid',
      why: 'data.keySid must be SK followed by 32 hex characters',
    });
    expect(report({})).toMatchObject({ kind: 'invalid' });
    expect(parseSignedReport(Buffer.from('{"type":"other","data":{}}'))).toMatchObject({ kind: 'invalid' });
  });

  it('acts on new GitHub exposures only', () => {
    const event = (action: string) =>
      parseGithubEvent(
        'secret_scanning_alert',
        Buffer.from(JSON.stringify({ action, alert: { number: 3 }, repository: { full_name: 'acme/app' } })),
      );
    expect(event('created')).toEqual({ kind: 'alert', owner: 'acme', repo: 'app', number: 3 });
    expect(event('publicly_leaked').kind).toBe('alert');
    expect(event('resolved')).toMatchObject({ kind: 'ignored', status: 200 });
    expect(parseGithubEvent('push', Buffer.from('{}'))).toMatchObject({ kind: 'ignored' });
  });
});

describe('leakReports configuration', () => {
  const base = (leakReports: unknown, daemon: unknown = { health: { port: 0 } }) => ({
    stores: { file: { path: '/tmp/x.json' } },
    daemon,
    leakReports,
    targets: [
      {
        name: 'app',
        accountSid: `AC${'a'.repeat(32)}`,
        keyType: 'standard',
        friendlyNamePrefix: 'rot-app-',
        secret: { store: 'file', secretId: 'twilio/app' },
        admin: { store: 'file', secretId: 'twilio/admin' },
      },
    ],
  });
  const issues = (raw: unknown, env: NodeJS.ProcessEnv = {}) => {
    try {
      parseConfigObject(raw, { env });
    } catch (err) {
      return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
    }
    return [];
  };

  it('converts to milliseconds with a 5-minute overlap by default', () => {
    const config = parseConfigObject(base({ signed: { secretEnv: 'S' } }), { env: { S: SECRET } });
    expect(config.leakReports).toEqual({
      overlapMs: 300_000,
      perMinute: 30,
      signed: { secretEnv: 'S', toleranceMs: 300_000 },
    });
  });

  it('needs the daemon endpoint, a source, its environment variables, and an overlap of at most an hour', () => {
    expect(issues(base({ signed: { secretEnv: 'S' } }, {}), { S: SECRET })).toEqual([
      expect.stringMatching(/^leakReports: needs daemon.health/) as string,
    ]);
    expect(issues(base({}))).toEqual([expect.stringMatching(/^leakReports: names no source/) as string]);
    expect(issues(base({ github: { webhookSecretEnv: 'H', tokenEnv: 'T' } }), { H: 'x' })).toEqual([
      'leakReports.github.tokenEnv: environment variable T is not set',
    ]);
    expect(issues(base({ overlapSeconds: 7200, signed: { secretEnv: 'S' } }), { S: SECRET })).toEqual([
      'leakReports.overlapSeconds: must be at most 3600',
    ]);
  });
});
