import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';

/** The log level comes from LOG_LEVEL, else from Lambda's advanced logging controls (AWS_LAMBDA_LOG_LEVEL). */

async function levelsKept(env: NodeJS.ProcessEnv): Promise<string[]> {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)));
  const logger = createLogger({ stream, json: true, env });
  for (const level of ['error', 'warn', 'info', 'debug', 'silly'] as const) logger.log(level, `at ${level}`);
  await new Promise((r) => setImmediate(r));
  return lines.map((l) => (JSON.parse(l) as { level: string }).level);
}

describe('the log level', () => {
  it.each<[string, string[]]>([
    ['TRACE', ['error', 'warn', 'info', 'debug', 'silly']],
    ['DEBUG', ['error', 'warn', 'info', 'debug']],
    ['INFO', ['error', 'warn', 'info']],
    ['WARN', ['error', 'warn']],
    ['ERROR', ['error']],
    ['FATAL', ['error']],
  ])('honours AWS_LAMBDA_LOG_LEVEL=%s', async (lambda, kept) => {
    expect(await levelsKept({ AWS_LAMBDA_LOG_LEVEL: lambda })).toEqual(kept);
  });

  it('lets LOG_LEVEL win over AWS_LAMBDA_LOG_LEVEL', async () => {
    expect(await levelsKept({ AWS_LAMBDA_LOG_LEVEL: 'ERROR', LOG_LEVEL: 'info' })).toEqual(['error', 'warn', 'info']);
  });

  it('refuses an AWS_LAMBDA_LOG_LEVEL Lambda does not know, naming the variable', () => {
    expect(() => createLogger({ stream: new PassThrough(), env: { AWS_LAMBDA_LOG_LEVEL: 'LOUD' } })).toThrow(
      expect.objectContaining({
        issues: [{ path: 'AWS_LAMBDA_LOG_LEVEL', message: expect.stringContaining('TRACE, DEBUG') as string }],
      }) as ConfigError,
    );
  });
});
