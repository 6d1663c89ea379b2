import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/entry/cli.js';

/**
 * Each command declares the flags it takes next to its help (src/entry/cli/): the two must agree, or
 * a flag is refused that the help offers, or taken that nobody documents.
 */

const COMMON_FLAGS = ['config', 'json', 'help'];
const optionLines = (help: string) => help.split('\n').filter((l) => /^ {2,}(-\w, )?--[\w-]+/.test(l));
const documented = (help: string) => optionLines(help).map((l) => /--([\w-]+)/.exec(l.replace(/^ +-\w, /, ''))![1]!);

describe.each(Object.entries(COMMANDS))('the %s command', (name, command) => {
  it('documents in its help every flag it takes, and takes every flag its help documents', () => {
    expect([...documented(command.help)].sort()).toEqual([...command.flags].sort());
  });

  it('names itself in its usage lines and its help', () => {
    for (const [synopsis] of command.usage) expect(synopsis.split(' ')[0]).toBe(name);
    expect(command.help).toMatch(new RegExp(`^Usage: twilio-key-rotator ${name}\\b`));
  });

  it('takes none of the flags every command takes as its own', () => {
    for (const flag of COMMON_FLAGS) expect(command.flags).not.toContain(flag);
  });
});
