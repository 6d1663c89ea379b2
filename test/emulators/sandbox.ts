/**
 * The emulators as one standalone sandbox: `npm run sandbox` (README "Sandbox").
 *
 * Point your own code at it: the Twilio SDK with an httpClient that rewrites
 * https://<product>.twilio.com onto TWILIO_URL (src/adapters/twilio/http-client.ts does this),
 * the AWS SDK with `endpoint: SM_URL` (SNS_URL, SQS_URL) and any static credentials.
 * Test controls: GET <url>/__emulator/requests, POST <url>/__emulator/faults|latency|reset.
 *
 * The account, its keys and tokens and the Secrets Manager secrets are kept in .state/sandbox.json
 * (SANDBOX_STATE) and restored on the next start; `--reset` starts a new account.
 */
import { join, relative, resolve } from 'node:path';
import { startSecretsManagerEmulator, type SmSnapshot } from './secrets-manager/index.js';
import { startSnsEmulator } from './sns/index.js';
import { startSqsEmulator } from './sqs/index.js';
import { startTwilioEmulator, type TwilioSnapshot } from './twilio/index.js';
import { isMain } from '../../src/util/is-main.js';
import {
  foreignAccounts,
  readSandboxState,
  RESET_HINT,
  resetSandbox,
  SANDBOX_STATE_FORMAT,
  SandboxStateError,
  writeSandboxState,
} from './sandbox-state.js';

export async function startSandbox(
  options: {
    twilioPort?: number;
    secretsManagerPort?: number;
    snsPort?: number;
    sqsPort?: number;
    /** Accounts, keys and secrets of an earlier sandbox (its emulators' `snapshot()`s). */
    restore?: { twilio: TwilioSnapshot; secretsManager: SmSnapshot };
  } = {},
) {
  const port = (p: number | undefined) => (p !== undefined ? { port: p } : {});
  const [twilio, secretsManager, sns, sqs] = await Promise.all([
    startTwilioEmulator({
      ...port(options.twilioPort),
      ...(options.restore ? { restore: options.restore.twilio } : {}),
    }),
    startSecretsManagerEmulator({
      ...port(options.secretsManagerPort),
      ...(options.restore ? { restore: options.restore.secretsManager } : {}),
    }),
    startSnsEmulator(port(options.snsPort)),
    startSqsEmulator(port(options.sqsPort)),
  ]);
  return {
    twilio,
    secretsManager,
    sns,
    sqs,
    close: () => Promise.all([twilio, secretsManager, sns, sqs].map((e) => e.close())).then(() => undefined),
  };
}

/** The topic and queue every start makes, with the same ARN and URL (they are not kept across restarts). */
export const SANDBOX_TOPIC = 'twilio-key-rotator-alerts';
export const SANDBOX_QUEUE = 'twilio-key-rotator-shards';
/** Default ports (TWILIO_PORT, SM_PORT, SNS_PORT, SQS_PORT change them). */
export const SANDBOX_PORTS = { twilio: 4010, secretsManager: 4566, sns: 4575, sqs: 4576 };

if (isMain(import.meta.url)) {
  const root = join(import.meta.dirname, '..', '..');
  const stateFile = resolve(process.env.SANDBOX_STATE || join(root, '.state', 'sandbox.json'));
  // The file store config/sandbox.yaml uses, resolved as the rotator resolves it (from config/).
  const storePath = resolve(root, 'config', process.env.ROTATOR_STORE_PATH || '../.state/secrets.json');
  const shown = (p: string) => (relative(process.cwd(), p).startsWith('..') ? p : relative(process.cwd(), p));
  const args = process.argv.slice(2);
  const usage = [
    'Usage: npm run sandbox [-- --reset]',
    '',
    'Starts the Twilio, Secrets Manager, SNS and SQS emulators and prints how to reach them. The account,',
    `its keys and the secrets are kept in ${shown(stateFile)} (SANDBOX_STATE) and restored on the next start.`,
    '',
    `  --reset   remove ${shown(stateFile)} and the file store ${shown(storePath)}, and start a new account`,
    '',
    `Ports: TWILIO_PORT (${SANDBOX_PORTS.twilio}), SM_PORT (${SANDBOX_PORTS.secretsManager}), ` +
      `SNS_PORT (${SANDBOX_PORTS.sns}), SQS_PORT (${SANDBOX_PORTS.sqs}); 0 takes a free one.`,
    '',
  ].join('\n');
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(usage);
    process.exit(0);
  }
  const unknown = args.filter((a) => a !== '--reset');
  if (unknown.length > 0) {
    process.stderr.write(`sandbox: unknown option ${unknown[0]}\n\n${usage}`);
    process.exit(2);
  }
  if (args.includes('--reset'))
    for (const p of resetSandbox([stateFile, storePath])) process.stdout.write(`removed ${shown(p)}\n`);

  let saved;
  try {
    saved = readSandboxState(stateFile);
  } catch (err) {
    if (!(err instanceof SandboxStateError)) throw err;
    process.stderr.write(`sandbox: ${err.message}\n`);
    process.exit(2);
  }
  const sandbox = await startSandbox({
    twilioPort: Number(process.env.TWILIO_PORT ?? SANDBOX_PORTS.twilio),
    secretsManagerPort: Number(process.env.SM_PORT ?? SANDBOX_PORTS.secretsManager),
    snsPort: Number(process.env.SNS_PORT ?? SANDBOX_PORTS.sns),
    sqsPort: Number(process.env.SQS_PORT ?? SANDBOX_PORTS.sqs),
    ...(saved ? { restore: saved } : {}),
  }).catch((err: NodeJS.ErrnoException & { port?: number }) => {
    if (err.code !== 'EADDRINUSE') throw err;
    // One line, not a stack trace: the fix is to free the port or pick others.
    const fix =
      'stop what holds it (another sandbox?) or choose free ports with TWILIO_PORT, SM_PORT, SNS_PORT and SQS_PORT';
    process.stderr.write(`sandbox: port ${err.port ?? '?'} is already in use; ${fix}\n`);
    process.exit(1);
  });
  const { twilio, secretsManager, sns, sqs } = sandbox;
  const savedKey = (sid: string | undefined) =>
    saved?.twilio.keys.find((k) => k.sid === sid && twilio.listKeys(k.accountSid).some((l) => l.sid === sid));
  const keyOf = (k: { sid: string; secret: string }) => ({ sid: k.sid, secret: k.secret });
  const main = keyOf(
    savedKey(saved?.seeded.mainKeySid) ?? twilio.seedKey({ type: 'main', friendlyName: 'sandbox-main' }),
  );
  const admin = keyOf(
    savedKey(saved?.seeded.adminKeySid) ??
      twilio.seedKey({
        type: 'restricted',
        policy: { allow: ['/twilio/iam/api-keys/*'] },
        friendlyName: 'sandbox-rotator-admin',
      }),
  );
  const save = () =>
    writeSandboxState(stateFile, {
      format: SANDBOX_STATE_FORMAT,
      twilio: twilio.snapshot(),
      secretsManager: secretsManager.snapshot(),
      seeded: { mainKeySid: main.sid, adminKeySid: admin.sid },
    });
  save();
  // Saved once a change has happened and before its answer leaves: what a client was told is kept.
  for (const controls of [twilio.controls, secretsManager.controls])
    controls.hooks.beforeResponse = (entry) => {
      if (entry.mutating) save();
    };
  const topicArn = sns.createTopicDirect(SANDBOX_TOPIC);
  const queueUrl = sqs.createQueueDirect(SANDBOX_QUEUE);

  const restored = saved ? 'restored: the same account as before' : 'new account';
  const dummyAws = `AWS_REGION=${secretsManager.region} AWS_ACCESS_KEY_ID=sandbox AWS_SECRET_ACCESS_KEY=sandbox`;
  // Handlers first, and the warning before the lines a script waits for: a script that stops the sandbox
  // as soon as it has read them must neither kill it by the default action nor miss the warning.
  const stop = () => void sandbox.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const foreign = foreignAccounts(
    storePath,
    new Set(
      twilio
        .listSubaccounts()
        .map((a) => a.sid)
        .concat(twilio.accountSid),
    ),
  );
  if (foreign.length > 0) {
    const store = `the file store ${shown(storePath)}`;
    const what = `${store} holds secrets of ${foreign.join(', ')}, which this sandbox does not have`;
    const why = 'they were made against an earlier sandbox account, and commands on them fail with an account mismatch';
    process.stderr.write(`sandbox: ${what}: ${why}. ${RESET_HINT} removes the store and starts a new account.\n`);
  }
  // These are the sandbox's own throwaway credentials; printing them is the point of this command.
  // Scripts read these lines: keep each as it is, and add new ones only after them.
  process.stdout.write(
    [
      'twilio-key-rotator sandbox (emulators; nothing here reaches Twilio or AWS)',
      '',
      `Twilio emulator           ${twilio.url}    (all products: iam, api, accounts)`,
      `Secrets Manager emulator  ${secretsManager.url}    (region ${secretsManager.region}, any access key)`,
      '',
      `Account SID               ${twilio.accountSid}`,
      `Auth Token                ${twilio.authToken()}`,
      `Main key                  ${main.sid} / ${main.secret}`,
      `Restricted admin key      ${admin.sid} / ${admin.secret}   (/twilio/iam/api-keys/*)`,
      '',
      `Request log               curl ${twilio.url}/__emulator/requests`,
      'Ctrl-C stops the sandbox.',
      '',
      `SNS emulator              ${sns.url}    (region ${sns.region}, any access key)`,
      `SQS emulator              ${sqs.url}    (region ${sqs.region}, any access key)`,
      `Alert topic               ${topicArn}   (published: curl ${sns.url}/__emulator/published)`,
      `Queue                     ${queueUrl}`,
      `State                     ${shown(stateFile)}, ${restored} (${RESET_HINT} starts over)`,
      '',
      'For the CLI and the AWS SDK in another shell (the emulators accept any access key):',
      `export TWILIO_ACCOUNT_SID=${twilio.accountSid} ${dummyAws}`,
      '',
    ].join('\n'),
  );
}
