import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { redact, redactValue, registerSecret } from '../../src/log.js';
import { scan } from '../support/scan.js';

describe('leak scan and redaction', () => {
  it('finds a secret that reached the output, and reports none when it did not', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tkr-scan-'));
    await writeFile(join(dir, 'secrets-1.txt'), 'Zq81hQ0mN7pLr2XyV4cWt9BkE3sJd6Fa\n');
    await writeFile(join(dir, 'output-1.txt'), 'all fine here\n');
    expect(scan(dir).leaks).toEqual([]);
    await writeFile(join(dir, 'output-2.txt'), 'oops {"apiKeySecret":"Zq81hQ0mN7pLr2XyV4cWt9BkE3sJd6Fa"}\n');
    expect(scan(dir).leaks).toEqual([{ secretPrefix: 'Zq81…', file: 'output-2.txt' }]);
  });

  it('redacts registered secrets anywhere in a message and secret-named fields whatever they hold', () => {
    registerSecret('Qw3rtY7uIo9pAs1dFg5hJk2lZx4cVb6n');
    expect(redact('the key Qw3rtY7uIo9pAs1dFg5hJk2lZx4cVb6n failed')).toBe('the key [REDACTED] failed');
    expect(
      redactValue({ nested: { authToken: 'never-registered-value', note: ['Qw3rtY7uIo9pAs1dFg5hJk2lZx4cVb6n'] } }),
    ).toEqual({ nested: { authToken: '[REDACTED]', note: ['[REDACTED]'] } });
  });
});
