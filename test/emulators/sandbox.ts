/**
 * Both emulators as one standalone sandbox: `npm run sandbox`.
 *
 * Point your own code at it: the Twilio SDK with an httpClient that rewrites
 * https://<product>.twilio.com onto TWILIO_URL (src/adapters/twilio/http-client.ts does this),
 * the AWS SDK with `endpoint: SM_URL` and any static credentials.
 * Test controls: GET <url>/__emulator/requests, POST <url>/__emulator/faults|latency|reset.
 */
import { startSecretsManagerEmulator } from './secrets-manager/index.js';
import { startTwilioEmulator } from './twilio/index.js';
import { isMain } from '../../src/util/is-main.js';

export async function startSandbox(options: { twilioPort?: number; secretsManagerPort?: number } = {}) {
  const [twilio, secretsManager] = await Promise.all([
    startTwilioEmulator({ ...(options.twilioPort !== undefined ? { port: options.twilioPort } : {}) }),
    startSecretsManagerEmulator({
      ...(options.secretsManagerPort !== undefined ? { port: options.secretsManagerPort } : {}),
    }),
  ]);
  return {
    twilio,
    secretsManager,
    close: () => Promise.all([twilio.close(), secretsManager.close()]).then(() => undefined),
  };
}

if (isMain(import.meta.url)) {
  const sandbox = await startSandbox({
    twilioPort: Number(process.env.TWILIO_PORT ?? 4010),
    secretsManagerPort: Number(process.env.SM_PORT ?? 4566),
  }).catch((err: NodeJS.ErrnoException & { port?: number }) => {
    if (err.code !== 'EADDRINUSE') throw err;
    // One line, not a stack trace: the fix is to free the port or pick others.
    const fix = 'stop what holds it (another sandbox?) or choose free ports with TWILIO_PORT and SM_PORT';
    process.stderr.write(`sandbox: port ${err.port ?? '?'} is already in use; ${fix}\n`);
    process.exit(1);
  });
  const { twilio, secretsManager } = sandbox;
  const main = twilio.seedKey({ type: 'main', friendlyName: 'sandbox-main' });
  const admin = twilio.seedKey({
    type: 'restricted',
    policy: { allow: ['/twilio/iam/api-keys/*'] },
    friendlyName: 'sandbox-rotator-admin',
  });
  // These are the sandbox's own throwaway credentials; printing them is the point of this command.
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
    ].join('\n'),
  );
  const stop = () => void sandbox.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
