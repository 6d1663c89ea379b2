import { describe, expect, it } from 'vitest';
import { CURRENT } from '../../src/core/labels.js';
import { lastErrorTags, LAST_ERROR_TAGS, readLastError } from '../../src/core/last-error.js';
import { rotate, status } from '../../src/engine/commands.js';
import { fakeWorld } from '../support/fakes.js';

/** `status` shows a target's last error whole: Secrets Manager tag values are short and take few characters. */

/** What Secrets Manager accepts in a tag value. */
const AWS_TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;

describe('the last error kept in tags', () => {
  it('round-trips punctuation, quotes and non-ASCII within tag values Secrets Manager accepts', () => {
    const text =
      '2026-12-07T10:00:00.000Z start-rotation: a secondary exists (not ours); run ' +
      '"twilio-key-rotator rotate --target app --replace-secondary" = 100% sure? ' +
      'ünïcødé, then retry.';
    const tags = lastErrorTags(text);
    expect(Object.keys(tags)).toEqual(LAST_ERROR_TAGS);
    for (const value of Object.values(tags)) expect(value).toMatch(AWS_TAG_VALUE);
    expect(readLastError(tags)).toBe(text);
  });

  it('keeps a message longer than one tag value whole, over several tags', () => {
    const text = `verify-pending: ${'Twilio refused the new key, "HTTP 401"; '.repeat(12)}run "status".`;
    expect(text.length).toBeGreaterThan(256);
    const tags = lastErrorTags(text);
    expect(Object.values(tags).every((v) => v.length <= 256)).toBe(true);
    expect(readLastError(tags)).toBe(text);
  });

  it('cuts a message too long for every tag at a word, marked, never mid-word', () => {
    const text = Array.from({ length: 400 }, (_, i) => `word${i}`).join(' ');
    const shown = readLastError(lastErrorTags(text))!;
    expect(shown.endsWith(' …')).toBe(true);
    const kept = shown.slice(0, -2);
    expect(text.startsWith(`${kept} `)).toBe(true);
  });

  it('reads a value written before this encoding as it was, and nothing when every part is empty', () => {
    expect(readLastError({ 'rotator:last-error': '2026-11-30T00:00:00Z verify-pending: HTTP status=404' })).toBe(
      '2026-11-30T00:00:00Z verify-pending: HTTP status=404',
    );
    expect(readLastError(Object.fromEntries(LAST_ERROR_TAGS.map((t) => [t, ''])))).toBeUndefined();
  });

  it('shows in status the whole failure of the last run, with the command it suggests', async () => {
    const w = await fakeWorld();
    await rotate(w.config, w.runtime);
    const current = JSON.parse(
      (await w.store.read('twilio/app'))!.versions.find((v) => v.stages.includes(CURRENT))!.value!,
    ) as { apiKeySid: string };
    const real = w.twilio.verifier();
    const reason =
      "HTTP 401 (the key was refused; check the account's API-key policy, then run " +
      '"twilio-key-rotator rotate --target app --force")';
    w.runtime.verifier = () => ({
      verify: (key, how) =>
        key.sid === current.apiKeySid
          ? real.verify(key, how)
          : Promise.resolve({ ok: false, definitive: true, reason }),
    });
    const [failed] = await rotate(w.config, w.runtime, { force: true });
    expect(failed).toMatchObject({ kind: 'failed', step: 'verify-pending' });
    const [shown] = await status(w.config, w.runtime);
    expect(shown!.lastError).toContain(reason);
    expect(shown!.lastError).toContain((failed as { error: string }).error);
  });
});
