import { randomBytes } from 'node:crypto';
import { getExpectedBodyHash, getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { describe, expect, it } from 'vitest';
import { formatPromotion, formatStamp, TAG_CURRENT_SINCE, TAG_PROMOTED } from '../../src/core/labels.js';
import { tokenFingerprint } from '../../src/credentials/auth-token/shape.js';
import {
  createWebhookValidator,
  signingTokensOf,
  validateTwilioWebhook,
  type SecretSnapshot,
  type SigningTokens,
} from '../../src/webhooks.js';
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
    // Promoted but not stamped yet (a crash between the two): counts as just promoted.
    expect(signingTokensOf(promoted(undefined), { now: () => t0 })).toEqual({ current: s, previous: p });
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
