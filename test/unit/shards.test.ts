import { describe, expect, it } from 'vitest';
import { batchesOf } from '../../src/adapters/queue/sqs.js';
import { parseConfigObject } from '../../src/config/validate.js';
import type { Runtime } from '../../src/core/runtime.js';
import { scheduledTargetNames } from '../../src/engine/targets.js';
import { parseShardBody, planShards, shardBody, SHARD_KIND } from '../../src/engine/shards.js';
import { shardSettings } from '../../src/entry/shard.js';
import { ConfigError } from '../../src/errors.js';

/** Shard messages: which names go together, what a body holds, what the worker refuses to read. */

const AC = (n: number) => `AC${String(n).repeat(32).slice(0, 32)}`;
const keyTarget = (name: string, account = 1, extra: Record<string, unknown> = {}) => ({
  name,
  accountSid: AC(account),
  keyType: 'standard',
  friendlyNamePrefix: `rot-${name}-`,
  secret: { store: 'aws', secretId: `prod/${name}` },
  admin: { store: 'aws', secretId: `prod/admin-${account}` },
  ...extra,
});
const tokenTarget = (name: string, account: number) => ({
  name,
  kind: 'auth-token',
  accountSid: AC(account),
  secret: { store: 'aws', secretId: `prod/${name}` },
});
const config = (targets: unknown[]) =>
  parseConfigObject({ stores: { aws: { region: 'us-east-1' } }, targets }, { env: {} });
const names = (n: number, prefix = 't') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('planShards', () => {
  it('puts at most the given number of names in a message, each name once, in the order given', () => {
    const c = config(names(7).map((n) => keyTarget(n)));
    expect(planShards(c, [...names(7), 't3'], 3)).toEqual([['t0', 't1', 't2'], ['t3', 't4', 't5'], ['t6']]);
    expect(planShards(c, [], 3)).toEqual([]);
  });

  it('sends an Auth Token target with the targets of its account and those it manages, so it still goes first', () => {
    const c = config([
      keyTarget('a1', 1),
      keyTarget('b1', 2),
      keyTarget('c1', 3, { admin: { store: 'aws', secretId: 'prod/token-2' } }),
      keyTarget('b2', 2),
      tokenTarget('token-2', 2),
      keyTarget('a2', 1),
    ]);
    expect(planShards(c, ['a1', 'b1', 'c1', 'b2', 'token-2', 'a2'], 4)).toEqual([
      ['a1'],
      ['token-2', 'b1', 'c1', 'b2'],
      ['a2'],
    ]);
    // A group larger than a message fills messages of its own, the Auth Token target in the first.
    expect(planShards(c, ['a1', 'b1', 'c1', 'b2', 'token-2', 'a2'], 2)).toEqual([
      ['a1'],
      ['token-2', 'b1'],
      ['c1', 'b2'],
      ['a2'],
    ]);
    // Without the Auth Token target among the names, nothing is grouped.
    expect(planShards(c, ['b1', 'c1', 'b2'], 2)).toEqual([['b1', 'c1'], ['b2']]);
  });

  it('keeps every body under 200 000 bytes, whatever the names', () => {
    const long = Array.from({ length: 1000 }, (_, i) => `${'n'.repeat(250)}${i}`);
    const plan = planShards(config([keyTarget('x')]), long, 1000);
    expect(plan.flat()).toEqual(long);
    expect(plan.length).toBe(2);
    for (const targets of plan)
      expect(Buffer.byteLength(shardBody({ run: 'r', part: 1, parts: 2, targets }))).toBeLessThan(200_000);
  });
});

describe('scheduledTargetNames', () => {
  it('names the targets that are not paused, in configuration order', async () => {
    const c = config([keyTarget('a'), keyTarget('b', 1, { paused: true }), tokenTarget('t', 2), keyTarget('c')]);
    expect(await scheduledTargetNames(c, {} as Runtime)).toEqual(['a', 't', 'c']);
  });
});

describe('shard message bodies', () => {
  it('hold the kind, the version, the run, the part and the target names, nothing else', () => {
    const body = shardBody({ run: 'req-1', part: 2, parts: 3, targets: ['a', 'b'] });
    expect(JSON.parse(body)).toEqual({
      kind: SHARD_KIND,
      version: 1,
      run: 'req-1',
      part: 2,
      parts: 3,
      targets: ['a', 'b'],
    });
    expect(parseShardBody(body)).toEqual({ ok: true, targets: ['a', 'b'], run: 'req-1' });
  });

  const secret = 'sk-live-0123456789abcdef0123456789abcdef';
  it.each([
    [`{"apiKeySecret":"${secret}"`, 'the body is not JSON'],
    [`["${secret}"]`, 'the body is not a JSON object'],
    [JSON.stringify({ kind: 'other', targets: [secret] }), `kind is not "${SHARD_KIND}"`],
    [JSON.stringify({ kind: SHARD_KIND, version: 2, targets: ['a'] }), 'version is not 1'],
    [JSON.stringify({ kind: SHARD_KIND, version: 1, targets: secret }), 'targets is not a non-empty list'],
    [JSON.stringify({ kind: SHARD_KIND, version: 1, targets: [] }), 'targets is not a non-empty list'],
    [JSON.stringify({ kind: SHARD_KIND, version: 1, targets: ['a', { secret }] }), 'targets[1] is not a target name'],
    [JSON.stringify({ kind: SHARD_KIND, version: 1, targets: [`a\n${secret}`] }), 'targets[0] is not a target name'],
    [JSON.stringify({ kind: SHARD_KIND, version: 1, targets: names(501) }), 'targets has 501 names, more than 500'],
  ])('refuses %s, saying what is wrong with its shape and nothing of what it holds', (body, problem) => {
    const parsed = parseShardBody(body);
    expect(parsed.ok).toBe(false);
    const text = (parsed as { problem: string }).problem;
    expect(text).toContain(problem);
    expect(text).not.toContain(secret.slice(0, 12));
  });
});

describe('SendMessageBatch batches', () => {
  it('hold at most 10 messages and 256 KiB', () => {
    expect(batchesOf(Array.from({ length: 23 }, () => 'x')).map((b) => b.length)).toEqual([10, 10, 3]);
    const big = 'y'.repeat(100_000);
    expect(batchesOf([big, big, big, 'z', big])).toEqual([
      [0, 1],
      [2, 3, 4],
    ]);
    expect(() => batchesOf(['w'.repeat(262_145)])).toThrow(/message 0 has 262145 bytes/);
  });
});

describe('the sharding switch (ROTATOR_SHARD_QUEUE_URL)', () => {
  const url = 'https://sqs.eu-west-1.amazonaws.com/123456789012/twilio-key-rotator-prod-shards';
  it('is off when unset, and takes the region from the queue URL', () => {
    expect(shardSettings({})).toBeUndefined();
    expect(shardSettings({ ROTATOR_SHARD_QUEUE_URL: url, AWS_REGION: 'us-east-1' })).toEqual({
      queueUrl: url,
      region: 'eu-west-1',
      targetsPerMessage: 20,
    });
    expect(
      shardSettings({
        ROTATOR_SHARD_QUEUE_URL: 'http://127.0.0.1:4566/000000000000/q',
        ROTATOR_SHARD_TARGETS_PER_MESSAGE: '7',
        AWS_REGION: 'us-east-1',
      }),
    ).toMatchObject({ region: 'us-east-1', targetsPerMessage: 7 });
  });

  it.each([
    [{ ROTATOR_SHARD_QUEUE_URL: 'not a url' }, 'ROTATOR_SHARD_QUEUE_URL: must be the URL of a standard SQS queue'],
    [{ ROTATOR_SHARD_QUEUE_URL: url.replace('https', 'http') }, 'ROTATOR_SHARD_QUEUE_URL: must be'],
    [{ ROTATOR_SHARD_QUEUE_URL: `${url}.fifo` }, 'ROTATOR_SHARD_QUEUE_URL: must be'],
    [
      { ROTATOR_SHARD_QUEUE_URL: url, ROTATOR_SHARD_TARGETS_PER_MESSAGE: '0' },
      'ROTATOR_SHARD_TARGETS_PER_MESSAGE: must be',
    ],
    [{ ROTATOR_SHARD_QUEUE_URL: url, ROTATOR_SHARD_TARGETS_PER_MESSAGE: '501' }, 'from 1 to 500, not "501"'],
    [{ ROTATOR_SHARD_QUEUE_URL: 'https://queue.example/123456789012/q' }, 'AWS_REGION: must be set'],
  ])('refuses %j, naming the variable', (env, message) => {
    expect(() => shardSettings(env)).toThrow(ConfigError);
    expect(() => shardSettings(env)).toThrow(message);
  });
});
