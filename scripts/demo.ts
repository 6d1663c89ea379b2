/**
 * `npm run demo`: full rotation cycles against the sandbox, with the embedded file store.
 * Starts the emulators in this process, stores an admin credential, then drives the real CLI.
 * API key: dry run, first run, a forced rotation that waits for the consumer gate, and its completion.
 * Auth Token: store the account's token, dry run, a secondary that waits for the gate, the promotion
 * and its check, and a webhook signed by Twilio validated across it.
 * OAuth app: the first run creates an app, a forced rotation a new one while the old one waits for the gate.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { parse, stringify } from 'yaml';
import { fileStore } from '../src/adapters/secrets/file-store.js';
import { runCli } from '../src/entry/cli.js';
import { fileSigningTokens, createWebhookValidator } from '../src/webhooks.js';
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

  // The OAuth-app target's admin: a Restricted key that may only manage OAuth apps.
  const appsAdmin = twilio.seedKey({
    type: 'restricted',
    policy: { allow: ['/twilio/iam/account-oauth-apps/*'] },
    friendlyName: 'rotator-oauth-admin',
  });
  await fileStore(storePath).create(
    'twilio/oauth-admin',
    randomBytes(16).toString('hex'),
    JSON.stringify({ accountSid: twilio.accountSid, apiKeySid: appsAdmin.sid, apiKeySecret: appsAdmin.secret }),
  );

  // config/sandbox.yaml, plus an Auth Token target that manages itself (the demo stores its token).
  const config = parse(await readFile(new URL('../config/sandbox.yaml', import.meta.url), 'utf8')) as {
    targets: Record<string, unknown>[];
  };
  config.targets.push({
    name: 'demo-token',
    kind: 'auth-token',
    accountSid: '${TWILIO_ACCOUNT_SID}',
    secret: { store: 'file', secretId: 'twilio/demo-token' },
    maxAgeDays: 30,
    propagationDelaySeconds: '${ROTATOR_PROPAGATION_DELAY_SECONDS:-2}',
    gate: { minOverlapSeconds: '${ROTATOR_MIN_OVERLAP_SECONDS:-3}', maxWaitSeconds: 3600 },
  });
  config.targets.push({
    name: 'demo-oauth',
    kind: 'oauth-app',
    accountSid: '${TWILIO_ACCOUNT_SID}',
    policy: { allow: ['/twilio/messaging/messages/list'] },
    accessTokenTtlSeconds: 3600,
    friendlyNamePrefix: 'rotator-oauth-',
    secret: { store: 'file', secretId: 'twilio/demo-oauth' },
    admin: { store: 'file', secretId: 'twilio/oauth-admin' },
    gate: { minOverlapSeconds: '${ROTATOR_MIN_OVERLAP_SECONDS:-3}', maxWaitSeconds: 3600 },
  });
  await writeFile(configPath, stringify(config));
  const env = {
    ...process.env,
    LOG_FORMAT: process.env.LOG_FORMAT ?? 'text',
    TWILIO_ACCOUNT_SID: twilio.accountSid,
    TWILIO_BASE_URL: twilio.url,
    ROTATOR_STORE_PATH: storePath,
    ROTATOR_MIN_OVERLAP_SECONDS: String(OVERLAP_SECONDS),
  };
  const io = { stdout: process.stdout, stderr: process.stderr, env };

  const step = async (title: string, args: string[], stdin?: string) => {
    process.stdout.write(`\n━━ ${title}\n$ twilio-key-rotator ${args.join(' ')}${stdin ? ' < token.json' : ''}\n`);
    const code = await runCli(
      [...args, '--config', configPath],
      stdin === undefined ? io : { ...io, stdin: () => Promise.resolve(stdin) },
    );
    process.stdout.write(`(exit ${code})\n`);
    return code;
  };

  process.stdout.write(`Sandbox: Twilio emulator ${twilio.url}; file store ${storePath}\n`);
  const key = ['--target', 'demo'];
  const tok = ['--target', 'demo-token'];
  const codes: number[] = [];
  process.stdout.write('\n■ API key rotation\n');
  await step('1. Preview the first run (nothing changes)', ['rotate', '--dry-run', ...key]);
  codes.push(await step('2. First run: create a key and the secret', ['rotate', ...key]));
  await step('3. Status', ['status', ...key]);
  await step('4. Rotate now: new key current, old key kept for the consumer gate', ['rotate', '--force', ...key]);
  await step('5. Status while the gate holds', ['status', ...key]);
  process.stdout.write(`\n… waiting ${OVERLAP_SECONDS} s for the minimum overlap …\n`);
  await new Promise((r) => setTimeout(r, OVERLAP_SECONDS * 1000 + 200));
  codes.push(await step('6. Gate passed: verify the new key again, delete the old one', ['rotate', ...key]));
  await step('7. Status', ['status', ...key]);
  process.stdout.write(
    `\nKeys now on the account: ${twilio
      .listKeys()
      .map((k) => `${k.sid} (${k.friendlyName ?? 'no name'})`)
      .join(', ')}\n`,
  );

  process.stdout.write('\n■ Auth Token rotation\n');
  const oldToken = twilio.authToken();
  codes.push(
    await step(
      "8. Store the account's Auth Token (read from stdin, never printed)",
      ['secret', 'put', 'twilio/demo-token', '--store', 'file'],
      JSON.stringify({ accountSid: twilio.accountSid, authToken: oldToken }),
    ),
  );
  await step('9. Preview a rotation (nothing changes)', ['rotate', '--dry-run', '--force', ...tok]);
  // A webhook validator as an application would run it, reading the tokens from the store.
  const validator = createWebhookValidator({
    load: fileSigningTokens({ path: storePath, secretId: 'twilio/demo-token' }),
    refreshMs: 500,
  });
  const url = 'https://app.example.com/twilio/sms';
  const params = { MessageSid: 'SM0000', Body: 'hello' };
  /** What Twilio sends now: signed with the account's primary token. */
  const signedNow = () => getExpectedTwilioSignature(twilio.authToken(), url, params);
  const webhook = async (when: string, signature = signedNow()) => {
    const verdict = await validator.validate({ signature, url, params });
    const said = verdict.valid
      ? `valid (signed with the ${verdict.signedWith} token ${verdict.fingerprint})`
      : `REFUSED: ${verdict.reason}`;
    process.stdout.write(`   webhook signed by Twilio ${when}: ${said}\n`);
  };
  await webhook('before the rotation');
  await step(
    '10. Rotate now: a secondary token, stored as AWSPENDING; the old token stays primary until the gate passes',
    ['rotate', '--force', ...tok],
  );
  await step('11. Status while the gate holds', ['status', ...tok]);
  await new Promise((r) => setTimeout(r, 600));
  await webhook('while the gate holds');
  process.stdout.write(`\n… waiting ${OVERLAP_SECONDS} s for the minimum overlap …\n`);
  await new Promise((r) => setTimeout(r, OVERLAP_SECONDS * 1000 + 200));
  const inFlight = signedNow();
  await step('12. Gate passed: promote; the old token dies at once', ['rotate', ...tok]);
  await webhook('right after the promotion');
  await webhook('just before the promotion, arriving after it', inFlight);
  process.stdout.write('\n… waiting out the propagation delay …\n');
  await new Promise((r) => setTimeout(r, 2200));
  codes.push(
    await step('13. Check the promotion took: the new token works, the old one is refused', ['rotate', ...tok]),
  );
  await step('14. Status', ['status', ...tok]);
  process.stdout.write(`\nThe account's Auth Token changed: ${oldToken !== twilio.authToken() ? 'yes' : 'NO'}\n`);

  process.stdout.write('\n■ OAuth app rotation\n');
  const app = ['--target', 'demo-oauth'];
  codes.push(await step('15. First run: create an OAuth app and store its client ID and secret', ['rotate', ...app]));
  codes.push(
    await step('16. Rotate now: a new app is current, the old app keeps working until the gate passes', [
      'rotate',
      '--force',
      ...app,
    ]),
  );
  const apps = twilio.listOAuthApps().map((a) => a.sid);
  process.stdout.write(`\nOAuth apps on the account now: ${apps.length} (${apps.join(', ')})\n`);
  process.exitCode = codes.find((c) => c !== 0) ?? 0;
} finally {
  await sandbox.close();
}
