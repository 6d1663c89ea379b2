import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/core/runtime.js';
import { createJsonLogger } from '../../src/json-log.js';
import { createLogger } from '../../src/log.js';
import { forgetSecrets, registerCredential } from '../../src/redact.js';

/** The Lambda's logger (src/json-log.ts) writes the lines the CLI's winston logger writes. */

const SECRET = 'not-a-real-secret-0123456789abcdef';

/** Runs `calls` on a logger and returns its lines, parsed only to set the timestamp aside. */
async function lines(make: (stream: PassThrough) => Logger, calls: (l: Logger) => void): Promise<string[]> {
  const stream = new PassThrough();
  const out: string[] = [];
  stream.on('data', (c: Buffer) => out.push(...c.toString().split('\n').filter(Boolean)));
  calls(make(stream));
  await new Promise((r) => setImmediate(r));
  return out.map((l) => l.replace(/"timestamp":"[^"]*"/, '"timestamp":"T"'));
}

const winston = (env: NodeJS.ProcessEnv) => (stream: PassThrough) => createLogger({ stream, json: true, env });
const lean = (env: NodeJS.ProcessEnv) => (stream: PassThrough) => createJsonLogger({ stream, env });

const calls = (l: Logger) => {
  l.info('plain');
  l.info('fields', { step: 'create-key', target: 'app', n: 3, z: { b: [1, { a: 2 }], password: 'x' }, u: undefined });
  const child = l.child({ target: 'app', rotationId: 'r-1' });
  child.warn('child', { step: 'verify', target: 'other' });
  child.child({ step: 'inner' }).error(`holds ${SECRET}`, { err: new Error(`boom ${SECRET}`), list: [SECRET] });
  l.info('with a message field', { message: 'appended', level: 'error' });
  l.info('secret fields', { apiKeySecret: 'a', authToken: 'b', nested: { clientSecret: 'c' } });
  l.error('', { step: 'empty', big: 10n, when: new Date(0) });
};

afterEach(() => forgetSecrets());

describe('the Lambda JSON logger', () => {
  it('writes the same lines as winston: fields, key order, redaction', async () => {
    registerCredential('SK00000000000000000000000000000000', SECRET);
    const expected = await lines(winston({}), calls);
    expect(expected).toHaveLength(7);
    expect(expected.join('\n')).not.toContain(SECRET);
    expect(await lines(lean({}), calls)).toEqual(expected);
  });

  it.each(['ERROR', 'WARN', 'INFO'])('keeps the records winston keeps at AWS_LAMBDA_LOG_LEVEL=%s', async (level) => {
    const env = { AWS_LAMBDA_LOG_LEVEL: level };
    const expected = await lines(winston(env), calls);
    expect(await lines(lean(env), calls)).toEqual(expected);
  });

  it.each<NodeJS.ProcessEnv>([{ LOG_LEVEL: 'warning' }, { AWS_LAMBDA_LOG_LEVEL: 'LOUD' }, { LOG_FORMAT: 'yaml' }])(
    'refuses a bad environment as winston does: %o',
    (env) => {
      const refusal = (make: () => unknown) => {
        try {
          make();
        } catch (err) {
          return String(err);
        }
        return 'accepted';
      };
      const expected = refusal(() => createLogger({ stream: new PassThrough(), json: true, env }));
      expect(expected).toMatch(/the environment is invalid/);
      expect(refusal(() => createJsonLogger({ stream: new PassThrough(), env }))).toBe(expected);
    },
  );
});
