import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';

// The stand-ins scripts/build-lambda.mjs puts in the Lambda bundle in place of code start-up need not read.
const require = createRequire(import.meta.url);
type Parsed = { isValid(): boolean; toDate(): Date; format(f: string): string };
type DayjsLike = { utc(value?: unknown, format?: string): Parsed; extend(plugin: unknown): void };
const stub = require('../../scripts/dayjs-utc-stub.cjs') as DayjsLike;
const dayjs = require('dayjs') as DayjsLike;
dayjs.extend(require('dayjs/plugin/utc'));

/** What twilio-node's base/deserialize.js and base/serialize.js get from `d` for `value`. */
function twilioSees(d: DayjsLike, value: unknown) {
  const parsed = d.utc(value, 'ddd, DD MMM YYYY HH:mm:ss [+0000]');
  const valid = parsed.isValid();
  const date = value instanceof Date ? d.utc(value) : undefined;
  return {
    valid,
    ms: valid ? parsed.toDate().getTime() : 'invalid',
    day: date?.format('YYYY-MM-DD'),
    time: date?.format('YYYY-MM-DD[T]HH:mm:ss[Z]'),
  };
}

describe("the Lambda bundle's dayjs stand-in (scripts/dayjs-utc-stub.cjs)", () => {
  const date = fc.date({ min: new Date(-1e14), max: new Date(1e14) });
  const rfc2822 = date.filter((d) => !isNaN(d.getTime())).map((d) => d.toUTCString().replace('GMT', '+0000'));
  const iso = date.filter((d) => !isNaN(d.getTime())).map((d) => d.toISOString());
  const isoish = fc
    .tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }))
    .chain(([y, m, d]) =>
      fc.constantFrom(
        `${String(y).padStart(4, '0')}-${m}-${d}`,
        `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}T10:20:30`,
        `${String(y).padStart(4, '0')}/${m}/${d} 1:2:3.4567`,
        `${y}${String(m).padStart(2, '0')}`,
      ),
    );
  const anything = fc.oneof(rfc2822, iso, isoish, fc.string(), date, fc.constant(null), fc.integer());

  it('parses and formats every value as dayjs with its utc plugin does', () => {
    fc.assert(
      fc.property(anything, (value) => {
        expect(twilioSees(stub, value)).toEqual(twilioSees(dayjs, value));
      }),
      { numRuns: 2000 },
    );
  });

  it('reads Twilio’s own dates, and takes no value as now, as dayjs does', () => {
    const created = 'Mon, 07 Dec 2026 20:00:00 +0000';
    expect(stub.utc(created).toDate().toISOString()).toBe('2026-12-07T20:00:00.000Z');
    expect(twilioSees(stub, '2026-12-07T20:00:00Z')).toEqual(twilioSees(dayjs, '2026-12-07T20:00:00Z'));
    expect(Math.abs(stub.utc(undefined).toDate().getTime() - Date.now())).toBeLessThan(60_000);
    expect(stub.utc(null).isValid()).toBe(false);
    expect(() => stub.utc(new Date()).format('HH:mm')).toThrow(/format "HH:mm" is not in the .* Lambda bundle/);
  });
});

describe("the Lambda bundle's credential chain stand-in (scripts/credential-chain-stub.mjs)", () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'])
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    for (const name of ['AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE'])
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
  });
  type Provider = (init?: Record<string, unknown>) => () => Promise<Record<string, unknown>>;
  const load = async () =>
    // @ts-expect-error -- plain ESM build script without type declarations
    ((await import('../../scripts/credential-chain-stub.mjs')) as { defaultProvider: Provider }).defaultProvider;

  it("answers from the environment's credentials as the chain's first link does, on Lambda", async () => {
    delete process.env.AWS_PROFILE;
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: 'AKIDFROMENV',
      AWS_SECRET_ACCESS_KEY: 'not-a-real-aws-secret',
      AWS_SESSION_TOKEN: 'not-a-real-session',
    });
    const stubbed = await (await load())()();
    const real = await (await import('@aws-sdk/credential-provider-node')).defaultProvider()();
    expect(stubbed).toEqual(real);
    expect(stubbed).toMatchObject({ accessKeyId: 'AKIDFROMENV', sessionToken: 'not-a-real-session' });
  });

  it('hands a profile, even beside credentials in the environment, to the whole chain', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tkr-chain-'));
    writeFileSync(
      join(dir, 'credentials'),
      '[rotator]\naws_access_key_id = AKIDFROMPROFILE\naws_secret_access_key = not-a-real-aws-secret\n',
    );
    Object.assign(process.env, {
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
      AWS_CONFIG_FILE: join(dir, 'config'),
      AWS_PROFILE: 'rotator',
      AWS_ACCESS_KEY_ID: 'AKIDFROMENV',
      AWS_SECRET_ACCESS_KEY: 'not-a-real-aws-secret',
    });
    const warn = console.warn;
    console.warn = () => undefined; // the SDK warns that both are set
    try {
      expect(await (await load())()()).toMatchObject({ accessKeyId: 'AKIDFROMPROFILE' });
    } finally {
      console.warn = warn;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
