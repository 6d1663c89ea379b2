/**
 * `npm run demo`: a full rotation cycle against the sandbox, with the embedded file store.
 * Starts the emulators in this process, stores an admin credential, then drives the real CLI:
 * dry run, first run, a forced rotation that waits for the consumer gate, and its completion.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileStore } from '../src/adapters/secrets/file-store.js';
import { runCli } from '../src/entry/cli.js';
import { startSandbox } from '../test/emulators/sandbox.js';

const OVERLAP_SECONDS = Number(process.env.DEMO_OVERLAP_SECONDS ?? 3);

const sandbox = await startSandbox();
const dir = await mkdtemp(join(tmpdir(), 'twilio-key-rotator-demo-'));
const storePath = join(dir, 'secrets.json');
const configPath = join(dir, 'rotator.yaml');
const { twilio } = sandbox;

try {
  // The rotator's own credential: a Restricted key that may only manage API keys (least privilege).
  const admin = twilio.seedKey({
    type: 'restricted',
    policy: { allow: ['/twilio/iam/api-keys/*'] },
    friendlyName: 'rotator-admin',
  });
  await fileStore(storePath).create(
    'twilio/admin',
    randomBytes(16).toString('hex'),
    JSON.stringify({ accountSid: twilio.accountSid, apiKeySid: admin.sid, apiKeySecret: admin.secret }),
  );

  const template = await readFile(new URL('../config/sandbox.yaml', import.meta.url), 'utf8');
  await writeFile(configPath, template);
  const env = {
    ...process.env,
    LOG_FORMAT: process.env.LOG_FORMAT ?? 'text',
    TWILIO_ACCOUNT_SID: twilio.accountSid,
    TWILIO_BASE_URL: twilio.url,
    ROTATOR_STORE_PATH: storePath,
    ROTATOR_MIN_OVERLAP_SECONDS: String(OVERLAP_SECONDS),
  };
  const io = { stdout: process.stdout, stderr: process.stderr, env };

  const step = async (title: string, args: string[]) => {
    process.stdout.write(`\n━━ ${title}\n$ twilio-key-rotator ${args.join(' ')}\n`);
    const code = await runCli([...args, '--config', configPath], io);
    process.stdout.write(`(exit ${code})\n`);
    return code;
  };

  process.stdout.write(`Sandbox: Twilio emulator ${twilio.url}; file store ${storePath}\n`);
  await step('1. Preview the first run (nothing changes)', ['rotate', '--dry-run']);
  await step('2. First run: create a key and the secret', ['rotate']);
  await step('3. Status', ['status']);
  await step('4. Rotate now: new key current, old key kept for the consumer gate', ['rotate', '--force']);
  await step('5. Status while the gate holds', ['status']);
  process.stdout.write(`\n… waiting ${OVERLAP_SECONDS} s for the minimum overlap …\n`);
  await new Promise((r) => setTimeout(r, OVERLAP_SECONDS * 1000 + 200));
  const last = await step('6. Gate passed: verify the new key again, delete the old one', ['rotate']);
  await step('7. Status', ['status']);
  process.stdout.write(
    `\nKeys now on the account: ${twilio
      .listKeys()
      .map((k) => `${k.sid} (${k.friendlyName ?? 'no name'})`)
      .join(', ')}\n`,
  );
  process.exitCode = last;
} finally {
  await sandbox.close();
}
