import type { StoreName } from '../../config/types.js';
import { UsageError } from '../../errors.js';
import type { Command } from './command.js';
import { BAD_INPUT, targetIsAnArgument } from './flags.js';

export const secret: Command = {
  usage: [['secret put <secretId> --store file|aws', 'store an admin credential or key from stdin']],
  help: `Usage: twilio-key-rotator secret put <secretId> --store file|aws [--replace] [--json] < value.json

Stores a value the configuration names — a target's admin credential or the key it rotates — after
checking its shape. The value is read from stdin, never from the command line, and never printed.

      --store file|aws  which configured store holds the secret
      --replace         replace a current value (the old one stays as AWSPREVIOUS)`,
  exitCodes: `Exit codes: 0 stored, 1 the store could not be reached, ${BAD_INPUT}
(e.g. a value of the wrong shape, or a current value without --replace).`,
  flags: ['store', 'replace'],
  refuses: { target: targetIsAnArgument('secret') },
  check(rest, values) {
    if (rest[0] !== 'put' || rest.length !== 2)
      throw new UsageError('usage: twilio-key-rotator secret put <secretId> --store file|aws [--replace] < value');
    if (values.store !== 'file' && values.store !== 'aws')
      throw new UsageError('secret put needs --store file or --store aws');
  },
  async run({ rest, values, io, session, print }) {
    const config = await session.config();
    const runtime = await session.runtime(config, { store: values.store! });
    const { putSecret } = await import('../../engine/secret-put.js');
    const value = await (io.stdin ?? readStdin)();
    const stored = await putSecret(config, runtime, {
      secretId: rest[1]!,
      store: values.store as StoreName,
      value,
      replace: values.replace ?? false,
    });
    const where = `in secret "${stored.secretId}" (${stored.store} store) as version ${stored.versionId}, AWSCURRENT`;
    const replaced = stored.replaced ? '; the value it replaced is AWSPREVIOUS' : '';
    print(values.json ? JSON.stringify(stored) : `stored ${stored.shape} ${where}${replaced}.`);
    return 0;
  },
};

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    const example = 'twilio-key-rotator secret put twilio/admin --store file < admin.json';
    throw new UsageError(
      `secret put reads the value from stdin and will not echo it on a terminal; pipe it in, e.g. ${example}`,
    );
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
