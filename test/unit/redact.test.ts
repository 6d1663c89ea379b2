import { afterEach, describe, expect, it } from 'vitest';
import { forgetSecrets, redact, registerCredential, registerSecret, REDACTED } from '../../src/redact.js';

afterEach(() => forgetSecrets());

describe('redact', () => {
  const secret = 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6';

  it('replaces every occurrence, in every registered form, and leaves the rest alone', () => {
    registerSecret(secret);
    expect(redact(`x ${secret} y ${secret}`)).toBe(`x ${REDACTED} y ${REDACTED}`);
    expect(redact(`url=${encodeURIComponent(`${secret}/?`)}`)).not.toContain(secret);
    expect(redact(Buffer.from(`pre${secret}post`).toString('base64'))).not.toContain(
      Buffer.from(secret).toString('base64').slice(4, 20),
    );
    expect(redact('nothing to see here')).toBe('nothing to see here');
    expect(redact('short')).toBe('short');
  });

  it('covers a Basic header and the password inside it as one stretch', () => {
    registerCredential('SK0123456789abcdef0123456789abcdef', secret);
    const basic = Buffer.from(`SK0123456789abcdef0123456789abcdef:${secret}`).toString('base64');
    expect(redact(`Authorization: Basic ${basic}.`)).toBe(`Authorization: Basic ${REDACTED}.`);
  });

  it('merges overlapping and touching secrets, so no tail of either is left', () => {
    const a = 'AAAAAAAAAAAAAAAAB';
    const b = 'BCCCCCCCCCCCCCCCC'; // overlaps a's last character
    const c = 'DDDDDDDDDDDDDDDD';
    for (const s of [a, b, c]) registerSecret(s);
    expect(redact(`<${a}CCCCCCCCCCCCCCCC${c}>`)).toBe(`<${REDACTED}>`);
    expect(redact(`${c}-${c}`)).toBe(`${REDACTED}-${REDACTED}`);
  });

  it('finds each of several secrets that begin with the same eight characters, and one alone', () => {
    const [x, y, z] = ['samehead-first-secret', 'samehead-second-secret', 'samehead-third'];
    registerSecret(x);
    expect(redact(`<${x}>`)).toBe(`<${REDACTED}>`);
    // Registered after a text was redacted: the index of forms by their head is built again.
    for (const s of [y, z]) registerSecret(s);
    expect(redact(`${z} ${y} ${x} samehead-other`)).toBe(`${REDACTED} ${REDACTED} ${REDACTED} samehead-other`);
  });

  it('stays fast with thousands of secrets registered', () => {
    for (let i = 0; i < 5000; i++) registerSecret(`${i.toString(16).padStart(8, '0')}${secret}`);
    const text = `${'log line without secrets '.repeat(40)}${'0000002a'}${secret}`;
    expect(redact(text).endsWith(REDACTED)).toBe(true);
  });
});
