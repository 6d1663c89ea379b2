import { randomBytes } from 'node:crypto';
import { getExpectedBodyHash, getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { describe, expect, it } from 'vitest';
import { formatPromotion, formatStamp, TAG_CURRENT_SINCE, TAG_PROMOTED } from '../../src/core/labels.js';
import { leakedTagKey } from '../../src/core/leaked.js';
import { rotateNow } from '../../src/engine/emergency.js';
import { tokenFingerprint } from '../../src/credentials/auth-token/shape.js';
import {
  createWebhookValidator,
  signingTokensOf,
  validateTwilioWebhook,
  type SecretSnapshot,
  type SigningTokens,
} from '../../src/webhooks.js';
import { fakeTokenWorld } from '../support/fakes.js';
import { recordSecrets } from '../support/scan.js';

/** Signatures here are made by twilio-node's own webhook code, never by ours. */

const AC = `AC${'1'.repeat(32)}`;
const newToken = () => {
  const t = randomBytes(16).toString('hex');
  recordSecrets([t]);
  return t;
};
const URL_FORM = 'https://example.com/sms?id=42';
const PARAMS = { From: '+15551234567', Body: 'hello', To: '+15557654321' };
const form = (token: string) => ({
  signature: getExpectedTwilioSignature(token, URL_FORM, PARAMS),
  url: URL_FORM,
  params: PARAMS,
});
const value = (authToken: string) => JSON.stringify({ accountSid: AC, authToken });

describe('validateTwilioWebhook', () => {
  const [p, s, old] = [newToken(), newToken(), newToken()];
  const tokens: SigningTokens = { current: p, pending: s, previous: old };

  it('accepts a signature by any token that may sign now, and says which', () => {
    expect(validateTwilioWebhook(tokens, form(p))).toEqual({
      valid: true,
      signedWith: 'current',
      fingerprint: tokenFingerprint(p),
    });
    expect(validateTwilioWebhook(tokens, form(s))).toMatchObject({ valid: true, signedWith: 'pending' });
    expect(validateTwilioWebhook(tokens, form(old))).toMatchObject({ valid: true, signedWith: 'previous' });
  });

  it('refuses a token it does not hold, a missing header, and a tampered parameter', () => {
    expect(validateTwilioWebhook({ current: p }, form(s))).toMatchObject({ valid: false });
    expect(validateTwilioWebhook(tokens, { ...form(p), signature: undefined })).toEqual({
      valid: false,
      reason: 'no X-Twilio-Signature header',
    });
    expect(validateTwilioWebhook(tokens, { ...form(p), params: { ...PARAMS, Body: 'changed' } })).toMatchObject({
      valid: false,
    });
  });

  it('validates a JSON body through bodySHA256, as Twilio signs JSON webhooks', () => {
    const body = JSON.stringify({ event: 'call.completed', sid: 'CA123' });
    const url = `https://example.com/events?bodySHA256=${getExpectedBodyHash(body)}`;
    const signature = getExpectedTwilioSignature(s, url, {});
    expect(validateTwilioWebhook(tokens, { signature, url, body })).toMatchObject({
      valid: true,
      signedWith: 'pending',
    });
    expect(validateTwilioWebhook(tokens, { signature, url, body: `${body} ` })).toMatchObject({ valid: false });
  });

  it('never names a token in its reasons', () => {
    const verdict = validateTwilioWebhook(tokens, { ...form(newToken()) });
    expect(JSON.stringify(verdict)).not.toMatch(new RegExp(`${p}|${s}|${old}`));
  });
});

describe('signingTokensOf', () => {
  const [p, s] = [newToken(), newToken()];
  const t0 = Date.parse('2026-11-30T12:00:00Z');
  const promoted = (sinceMs: number | undefined): SecretSnapshot => ({
    stages: { AWSCURRENT: { versionId: 'v2', value: value(s) }, AWSPREVIOUS: { versionId: 'v1', value: value(p) } },
    tags: {
      [TAG_PROMOTED]: formatPromotion('v1', 'v2'),
      ...(sinceMs === undefined ? {} : { [TAG_CURRENT_SINCE]: formatStamp('v2', sinceMs) }),
    },
  });

  it('during the gate: the current token and the pending one', () => {
    const snapshot: SecretSnapshot = {
      stages: { AWSCURRENT: { versionId: 'v1', value: value(p) }, AWSPENDING: { versionId: 'v2', value: value(s) } },
      tags: {},
    };
    expect(signingTokensOf(snapshot)).toEqual({ current: p, pending: s });
  });

  it('after a promotion: the retired token only within the grace period', () => {
    expect(signingTokensOf(promoted(t0), { now: () => t0 + 60_000 })).toEqual({ current: s, previous: p });
    expect(signingTokensOf(promoted(t0), { now: () => t0 + 15 * 60_000 })).toEqual({ current: s });
    expect(signingTokensOf(promoted(t0), { now: () => t0 + 90_000, previousGraceMs: 60_000 })).toEqual({
      current: s,
    });
  });

  it('gives the retired token no grace when the promotion was never stamped', () => {
    // The moment between the label move and the stamp, or a crash there: a missing fact widens nothing.
    expect(signingTokensOf(promoted(undefined), { now: () => t0 })).toEqual({ current: s });
    expect(signingTokensOf(promoted(undefined), { now: () => t0 + 365 * 86_400_000 })).toEqual({ current: s });
  });

  it('gives a token rotate --now recorded as leaked no grace after its promotion', () => {
    const leaked = promoted(t0);
    const tags = { ...leaked.tags, [leakedTagKey('v1')]: new Date(t0 - 60_000).toISOString() };
    expect(signingTokensOf({ ...leaked, tags }, { now: () => t0 })).toEqual({ current: s });
    // A record of another version changes nothing; a cleared record ('') counts as none.
    const other = { ...leaked.tags, [leakedTagKey('v0')]: new Date(t0).toISOString(), [leakedTagKey('v1')]: '' };
    expect(signingTokensOf({ ...leaked, tags: other }, { now: () => t0 })).toEqual({ current: s, previous: p });
  });

  it('marks a current token recorded as leaked, which still signs until its promotion', () => {
    const snapshot: SecretSnapshot = {
      stages: { AWSCURRENT: { versionId: 'v1', value: value(p) }, AWSPENDING: { versionId: 'v2', value: value(s) } },
      tags: { [leakedTagKey('v1')]: new Date(t0).toISOString() },
    };
    expect(signingTokensOf(snapshot)).toEqual({ current: p, pending: s, currentLeaked: true });
  });

  it('ignores an AWSPREVIOUS the rotator did not retire by a promotion (a manual replace)', () => {
    const snapshot = promoted(t0);
    expect(signingTokensOf({ ...snapshot, tags: {} }, { now: () => t0 })).toEqual({ current: s });
  });

  it('explains a malformed secret without quoting it', () => {
    const bad: SecretSnapshot = {
      stages: { AWSCURRENT: { versionId: 'v1', value: `{"authToken": "${p}"` } },
      tags: {},
    };
    expect(() => signingTokensOf(bad)).toThrow('the AWSCURRENT version is not JSON');
    try {
      signingTokensOf(bad);
    } catch (err) {
      expect(String(err)).not.toContain(p);
    }
    expect(() => signingTokensOf({ stages: {}, tags: {} })).toThrow('no AWSCURRENT value');
  });
});

describe('createWebhookValidator', () => {
  it('refreshes on its interval and reloads once when a signature matches no token it holds', async () => {
    const [p, s] = [newToken(), newToken()];
    let now = 0;
    let loads = 0;
    let stored: SigningTokens = { current: p };
    const validator = createWebhookValidator({
      load: () => (loads++, Promise.resolve(stored)),
      refreshMs: 60_000,
      minReloadMs: 10_000,
      now: () => now,
    });
    expect(await validator.validate(form(p))).toMatchObject({ valid: true });
    expect(loads).toBe(1);
    // Promoted elsewhere: the first request signed with the new token costs one reload, then passes.
    stored = { current: s, previous: p };
    now = 20_000;
    expect(await validator.validate(form(s))).toMatchObject({ valid: true, signedWith: 'current' });
    expect(loads).toBe(2);
    // A forged request does not make it reload on every call.
    now = 21_000;
    expect(await validator.validate(form(newToken()))).toMatchObject({ valid: false });
    expect(loads).toBe(2);
    now = 90_000;
    await validator.validate(form(s));
    expect(loads).toBe(3);
  });

  it('keeps the tokens it holds when a reload fails, and throws only with none held', async () => {
    const p = newToken();
    let now = 0;
    let fail = true;
    const validator = createWebhookValidator({
      load: () => (fail ? Promise.reject(new Error('Secrets Manager unreachable')) : Promise.resolve({ current: p })),
      now: () => now,
    });
    await expect(validator.validate(form(p))).rejects.toThrow('Secrets Manager unreachable');
    fail = false;
    expect(await validator.validate(form(p))).toMatchObject({ valid: true });
    fail = true;
    now = 120_000;
    expect(await validator.validate(form(p))).toMatchObject({ valid: true });
  });
});

describe('the webhook helper after rotate --now', () => {
  const snapshotOf = async (w: Awaited<ReturnType<typeof fakeTokenWorld>>): Promise<SecretSnapshot> => {
    const secret = (await w.store.read('twilio/token'))!;
    const stages: SecretSnapshot['stages'] = {};
    for (const v of secret.versions)
      for (const label of v.stages)
        if (label === 'AWSCURRENT' || label === 'AWSPENDING' || label === 'AWSPREVIOUS')
          stages[label] = { versionId: v.versionId, ...(v.value !== undefined ? { value: v.value } : {}) };
    return { stages, tags: secret.tags };
  };

  it('refuses the leaked token the moment it is retired, with no grace', async () => {
    const w = await fakeTokenWorld({ maxAgeDays: 90 });
    const leaked = w.twilio.primary;
    recordSecrets([leaked]);
    const during: SigningTokens[] = [];
    const done = await rotateNow(w.config, w.runtime, 'token', {
      overlapMs: 30_000,
      sleep: async (ms) => {
        during.push(signingTokensOf(await snapshotOf(w), { now: () => w.now() }));
        w.advance(ms);
      },
    });
    expect(done.finished).toBe(true);
    // During the overlap the leaked token still signs (it is Twilio's primary), marked for fast refresh.
    expect(during[0]).toMatchObject({ current: leaked, currentLeaked: true });
    const after = signingTokensOf(await snapshotOf(w), { now: () => w.now() });
    expect(after).toEqual({ current: w.twilio.primary });
    expect(validateTwilioWebhook(after, form(leaked))).toMatchObject({ valid: false });
  });
});

describe('rotate --now without its record', () => {
  it('changes nothing on Twilio when the leaked token cannot be recorded, and says it did not finish', async () => {
    const w = await fakeTokenWorld({ maxAgeDays: 90 });
    w.store.setTags = () => Promise.reject(new Error('AccessDeniedException: not allowed to tag'));
    const done = await rotateNow(w.config, w.runtime, 'token', { overlapMs: 0, sleep: () => Promise.resolve() });
    expect(done).toMatchObject({ finished: false, result: { kind: 'failed', step: 'record-leaked' } });
    expect(w.twilio.writes).toEqual([]);
  });
});

describe('rotate --now on bad secret contents', () => {
  it('records no leaked token: bad input changes nothing', async () => {
    const w = await fakeTokenWorld({ maxAgeDays: 90 });
    await w.store.putCurrent('twilio/token', 'd'.repeat(32), '{"accountSid": ');
    const done = await rotateNow(w.config, w.runtime, 'token', { overlapMs: 0, sleep: () => Promise.resolve() });
    expect(done.result.kind).toBe('failed');
    const tags = (await w.store.read('twilio/token'))!.tags;
    expect(Object.keys(tags).filter((k) => k.startsWith('rotator:leaked:'))).toEqual([]);
  });
});

describe('createWebhookValidator while a leaked token is current', () => {
  it('reloads within a second, so the promotion that retires it is seen at once', async () => {
    const [leaked, fresh] = [newToken(), newToken()];
    let now = 0;
    let loads = 0;
    let stored: SigningTokens = { current: leaked, pending: fresh, currentLeaked: true };
    const validator = createWebhookValidator({ load: () => (loads++, Promise.resolve(stored)), now: () => now });
    expect(await validator.validate(form(leaked))).toMatchObject({ valid: true, signedWith: 'current' });
    stored = { current: fresh }; // promoted: the leaked token got no grace
    now = 999;
    expect(await validator.validate(form(leaked))).toMatchObject({ valid: true }); // within the second
    now = 1000;
    expect(await validator.validate(form(leaked))).toMatchObject({ valid: false });
    expect(loads).toBe(2);
    // Nothing leaked any more: back to the minute.
    now = 30_000;
    await validator.validate(form(fresh));
    expect(loads).toBe(2);
  });
});
