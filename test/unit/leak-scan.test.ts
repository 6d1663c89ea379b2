import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { redact, redactValue, registerCredential, registerSecret } from '../../src/redact.js';
import { scan } from '../support/scan.js';
import { scratchFolders } from '../support/scratch.js';

const scratch = scratchFolders();

describe('leak scan and redaction', () => {
  it('finds a secret that reached the output, and reports none when it did not', async () => {
    const dir = await scratch('tkr-scan-');
    await writeFile(join(dir, 'secrets-1.txt'), 'Zq81hQ0mN7pLr2XyV4cWt9BkE3sJd6Fa\n');
    await writeFile(join(dir, 'output-1.txt'), 'all fine here\n');
    expect(scan(dir).leaks).toEqual([]);
    await writeFile(join(dir, 'output-2.txt'), 'oops {"apiKeySecret":"Zq81hQ0mN7pLr2XyV4cWt9BkE3sJd6Fa"}\n');
    expect(scan(dir).leaks).toEqual([{ secretPrefix: 'Zq81…', file: 'output-2.txt' }]);
  });

  it('finds a secret in its derived forms too: inside a Basic header, percent-encoded', async () => {
    const dir = await scratch('tkr-scan-');
    const secret = 'Zq81hQ0mN7pLr2XyV4cWt9BkE3sJd6Fa';
    await writeFile(join(dir, 'secrets-1.txt'), `${secret}\n`);
    for (const [i, user] of ['SK1', 'SK12', 'SK123'].entries()) {
      await writeFile(
        join(dir, `output-${i}.txt`),
        `upstream said: Authorization: Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}\n`,
      );
    }
    await writeFile(join(dir, 'output-9.txt'), `?token=${encodeURIComponent(secret + '/+')}`);
    expect(
      scan(dir)
        .leaks.map((l) => l.file)
        .sort(),
    ).toEqual(['output-0.txt', 'output-1.txt', 'output-2.txt', 'output-9.txt']);
  });

  it('redacts the derived forms of a registered credential: the Basic header and the percent-encoded secret', () => {
    registerCredential('SKabc', 'Pz9/Xk2+Lm4=Qw8@Rt5!Yu7#Io0$Pa3%');
    const basic = Buffer.from('SKabc:Pz9/Xk2+Lm4=Qw8@Rt5!Yu7#Io0$Pa3%').toString('base64');
    expect(redact(`echo: Basic ${basic}; form: ${encodeURIComponent('Pz9/Xk2+Lm4=Qw8@Rt5!Yu7#Io0$Pa3%')}`)).toBe(
      'echo: Basic [REDACTED]; form: [REDACTED]',
    );
  });

  it('redacts registered secrets anywhere in a message and secret-named fields whatever they hold', () => {
    registerSecret('Qw3rtY7uIo9pAs1dFg5hJk2lZx4cVb6n');
    expect(redact('the key Qw3rtY7uIo9pAs1dFg5hJk2lZx4cVb6n failed')).toBe('the key [REDACTED] failed');
    expect(
      redactValue({ nested: { authToken: 'never-registered-value', note: ['Qw3rtY7uIo9pAs1dFg5hJk2lZx4cVb6n'] } }),
    ).toEqual({ nested: { authToken: '[REDACTED]', note: ['[REDACTED]'] } });
  });
});
