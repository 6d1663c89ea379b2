import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfigObject } from '../../src/config/validate.js';
import { SANDBOX_PORTS, SANDBOX_QUEUE, SANDBOX_TOPIC } from './sandbox.js';
import { cliBin } from '../support/child.js';
import { recordOutput } from '../support/scan.js';
import { scratchFolders } from '../support/scratch.js';

const scratch = scratchFolders();

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const DUMMY_AWS = 'AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=sandbox AWS_SECRET_ACCESS_KEY=sandbox';

/**
 * `npm run sandbox` as a user runs it: its own process, stopped and started again, its state in a
 * temporary directory (SANDBOX_STATE, ROTATOR_STORE_PATH). Its output is not handed to the leak scan:
 * printing its throwaway credentials is what the command is for.
 */
interface Sandbox {
  stdout: string;
  stderr: string;
  /** The value of a printed `Label   value` line, without what follows the value. */
  value(label: string): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}
type Exited = { code: number | null; stdout: string; stderr: string };

const running = new Set<Sandbox>();
afterEach(async () => {
  for (const s of running) await s.stop('SIGKILL');
});

const statePaths = (dir: string) => ({
  SANDBOX_STATE: join(dir, 'sandbox.json'),
  ROTATOR_STORE_PATH: join(dir, 'secrets.json'),
});

/** Runs the sandbox until it exits (a refusal) or has printed its last line. */
function sandbox(dir: string, args: string[] = []): Promise<Sandbox | Exited> {
  const env = { ...process.env, TWILIO_PORT: '0', SM_PORT: '0', SNS_PORT: '0', SQS_PORT: '0', ...statePaths(dir) };
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/emulators/sandbox.ts', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stderr.on('data', (c: Buffer) => (out.stderr += c.toString()));
  const exited = new Promise<Exited>((resolve) => child.on('close', (code) => resolve({ code, ...out })));
  return new Promise((resolve) => {
    void exited.then(resolve);
    child.stdout.on('data', (c: Buffer) => {
      out.stdout += c.toString();
      if (!/^Ctrl-C stops the sandbox\.\n/m.test(out.stdout)) return;
      const s: Sandbox = {
        get stdout() {
          return out.stdout;
        },
        get stderr() {
          return out.stderr;
        },
        value: (label) => new RegExp(`^${label} +(\\S+)`, 'm').exec(out.stdout)?.[1] ?? '',
        stop: async (signal = 'SIGTERM') => {
          running.delete(s);
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          await exited;
        },
      };
      running.add(s);
      resolve(s);
    });
  });
}

async function started(dir: string, args: string[] = []): Promise<Sandbox> {
  const s = await sandbox(dir, args);
  if (!('value' in s)) throw new Error(`the sandbox exited with ${s.code}: ${s.stderr}`);
  return s;
}

/** The shipped CLI with config/sandbox.yaml, as the README's recipe runs it; stdin from a file. */
async function cli(dir: string, s: Sandbox, args: string[], stdinFile?: string): Promise<Exited> {
  const env = {
    ...process.env,
    TWILIO_ACCOUNT_SID: s.value('Account SID'),
    TWILIO_BASE_URL: s.value('Twilio emulator'),
    ROTATOR_STORE_PATH: join(dir, 'secrets.json'),
    ROTATOR_MIN_OVERLAP_SECONDS: '0',
  };
  const stdin = stdinFile ? openSync(stdinFile, 'r') : 'ignore';
  const child = spawn(process.execPath, [await cliBin(), '--config', 'config/sandbox.yaml', ...args], {
    env,
    stdio: [stdin, 'pipe', 'pipe'],
  });
  if (typeof stdin === 'number') closeSync(stdin);
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (c: Buffer) => (out.stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out.stderr += c.toString()));
  return new Promise((resolve) =>
    child.on('close', (code) => {
      recordOutput(out.stdout);
      recordOutput(out.stderr);
      resolve({ code, ...out });
    }),
  );
}

/** The README recipe's first steps: store the printed admin key, then rotate. */
async function storeAdminAndRotate(dir: string, s: Sandbox): Promise<void> {
  const [apiKeySid, apiKeySecret] = /^Restricted admin key +(SK\w+) \/ (\w+)/m.exec(s.stdout)!.slice(1);
  const admin = join(dir, 'admin.json');
  await writeFile(admin, JSON.stringify({ accountSid: s.value('Account SID'), apiKeySid, apiKeySecret }), {
    mode: 0o600,
  });
  expect((await cli(dir, s, ['secret', 'put', 'twilio/admin', '--store', 'file'], admin)).code).toBe(0);
  expect((await cli(dir, s, ['rotate'])).code).toBe(0);
}

const awsClient = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
  maxAttempts: 1,
};

describe('npm run sandbox', () => {
  it('continues with the same account, keys and secrets after it is killed and started again', async () => {
    const dir = await scratch('tkr-sandbox-');
    const first = await started(dir);
    await storeAdminAndRotate(dir, first);
    const before = await cli(dir, first, ['status', '--json']);
    // The Secrets Manager store's way in, with the dummy credentials the sandbox prints.
    const smAt = (s: Sandbox) =>
      new SecretsManagerClient({ ...awsClient, endpoint: s.value('Secrets Manager emulator') });
    const sm = smAt(first);
    await sm.send(new CreateSecretCommand({ Name: 'sandbox/text', SecretString: '{"a":1}' }));
    await sm.send(new CreateSecretCommand({ Name: 'sandbox/bytes', SecretBinary: Uint8Array.from([0, 1, 254, 255]) }));
    sm.destroy();
    await first.stop('SIGKILL');

    const second = await started(dir);
    for (const label of ['Account SID', 'Auth Token', 'Main key', 'Restricted admin key'])
      expect(second.value(label)).toBe(first.value(label));
    expect(second.stdout).toMatch(/^State +.*restored: the same account as before/m);
    // The key the first run created and stored is still there: the next commands just carry on.
    const status = await cli(dir, second, ['status', '--json']);
    expect(status.code).toBe(0);
    expect(status.stdout).toBe(before.stdout);
    expect((await cli(dir, second, ['rotate'])).code).toBe(0);
    const again = smAt(second);
    try {
      expect((await again.send(new GetSecretValueCommand({ SecretId: 'sandbox/text' }))).SecretString).toBe('{"a":1}');
      const bytes = (await again.send(new GetSecretValueCommand({ SecretId: 'sandbox/bytes' }))).SecretBinary;
      expect([...bytes!]).toEqual([0, 1, 254, 255]);
    } finally {
      again.destroy();
    }
    await second.stop();
    expect(second.stderr).toBe('');
  }, 90_000);

  it('keeps the lines scripts read, and serves SNS and SQS at the endpoints it prints', async () => {
    const dir = await scratch('tkr-sandbox-');
    const s = await started(dir);
    const url = String.raw`http://127\.0\.0\.1:\d+`;
    const lines = [
      '^twilio-key-rotator sandbox \\(emulators; nothing here reaches Twilio or AWS\\)$',
      `^Twilio emulator {11}${url} {4}\\(all products: iam, api, accounts\\)$`,
      `^Secrets Manager emulator  ${url} {4}\\(region us-east-1, any access key\\)$`,
      '^Account SID {15}AC[0-9a-f]{32}$',
      '^Auth Token {16}[0-9a-f]{32}$',
      '^Main key {18}SK[0-9a-f]{32} / \\w{32}$',
      '^Restricted admin key {6}SK[0-9a-f]{32} / \\w{32} {3}\\(/twilio/iam/api-keys/\\*\\)$',
      `^Request log {15}curl ${url}/__emulator/requests$`,
      '^Ctrl-C stops the sandbox\\.$',
    ];
    const printed = s.stdout.split('\n');
    // The same lines at the same places as before SNS and SQS were added: new lines come after them.
    expect(printed.slice(0, 13).filter((l) => l !== '')).toHaveLength(lines.length);
    lines.forEach((line, i) => expect(printed.filter((l) => l !== '')[i]).toMatch(new RegExp(line)));

    const sns = new SNSClient({ ...awsClient, endpoint: s.value('SNS emulator') });
    const sqs = new SQSClient({ ...awsClient, endpoint: s.value('SQS emulator') });
    try {
      const topicArn = s.value('Alert topic');
      expect(topicArn).toBe('arn:aws:sns:us-east-1:123456789012:twilio-key-rotator-alerts');
      await sns.send(new PublishCommand({ TopicArn: topicArn, Message: '{"event":"sandbox-try"}' }));
      const published = (await (await fetch(`${s.value('SNS emulator')}/__emulator/published`)).json()) as {
        topicArn: string;
        messages: { message: string }[];
      }[];
      expect(published).toEqual([
        { topicArn, messages: [expect.objectContaining({ message: '{"event":"sandbox-try"}' })] },
      ]);

      const QueueUrl = s.value('Queue');
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'shard' }));
      const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl }));
      expect(Messages?.map((m) => m.Body)).toEqual(['shard']);
    } finally {
      sns.destroy();
      sqs.destroy();
    }
    expect(s.stdout).toMatch(new RegExp(`^export TWILIO_ACCOUNT_SID=AC[0-9a-f]{32} ${DUMMY_AWS}$`, 'm'));
  }, 60_000);

  it('starts a new account with --reset, removing its state and the file store', async () => {
    const dir = await scratch('tkr-sandbox-');
    const first = await started(dir);
    await storeAdminAndRotate(dir, first);
    await first.stop();

    const reset = await started(dir, ['--reset']);
    expect(reset.value('Account SID')).not.toBe(first.value('Account SID'));
    expect(reset.stdout).toContain(`removed ${statePaths(dir).SANDBOX_STATE}\n`);
    expect(reset.stdout).toContain(`removed ${statePaths(dir).ROTATOR_STORE_PATH}\n`);
    expect(reset.stdout).toMatch(/^State +.*new account/m);
    expect(existsSync(statePaths(dir).ROTATOR_STORE_PATH)).toBe(false);
    await storeAdminAndRotate(dir, reset);
  }, 90_000);

  it('names the way out when the file store holds secrets of an account it does not have', async () => {
    const dir = await scratch('tkr-sandbox-');
    const first = await started(dir);
    await storeAdminAndRotate(dir, first);
    await first.stop();
    // As before the sandbox kept its state: the next start made a new account.
    rmSync(statePaths(dir).SANDBOX_STATE);

    const second = await started(dir);
    expect(second.value('Account SID')).not.toBe(first.value('Account SID'));
    await second.stop(); // all it wrote is read once it has exited
    expect(second.stderr).toContain(`holds secrets of ${first.value('Account SID')}, which this sandbox does not have`);
    expect(second.stderr).toContain('npm run sandbox -- --reset');
    const store = await readFile(statePaths(dir).ROTATOR_STORE_PATH, 'utf8');
    const secrets = [...store.matchAll(/"apiKeySecret\\?":\\?"(\w+)/g)].map((m) => m[1]!);
    expect(secrets.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(second.stderr).not.toContain(secret);
  }, 90_000);

  it('refuses an unknown option with its usage, and changes nothing', async () => {
    const dir = await scratch('tkr-sandbox-');
    const out = (await sandbox(dir, ['--rest'])) as Exited;
    expect(out).toMatchObject({ code: 2, stdout: '' });
    expect(out.stderr).toMatch(/^sandbox: unknown option --rest\n\nUsage: npm run sandbox \[-- --reset\]\n/);
    expect(existsSync(statePaths(dir).SANDBOX_STATE)).toBe(false);
  }, 60_000);

  it('refuses a state file it cannot read, naming --reset, and changes nothing', async () => {
    const dir = await scratch('tkr-sandbox-');
    await writeFile(statePaths(dir).SANDBOX_STATE, '{"format":"something else"}');
    const out = await sandbox(dir);
    expect(out).toMatchObject({ code: 2, stdout: '' });
    expect((out as Exited).stderr).toBe(
      `sandbox: sandbox state ${statePaths(dir).SANDBOX_STATE} is not a twilio-key-rotator/sandbox@1 document; ` +
        'nothing was changed. npm run sandbox -- --reset starts a new sandbox account ' +
        "(it removes that file and the sandbox's file store)\n",
    );
    expect(await readFile(statePaths(dir).SANDBOX_STATE, 'utf8')).toBe('{"format":"something else"}');
  }, 60_000);
});

describe('README "Sandbox"', () => {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf('## Sandbox\n'), readme.indexOf('## Development\n'));

  it("shows a Secrets Manager and SNS configuration the loader accepts, on the sandbox's topic and ports", () => {
    const yaml = /```yaml\n(twilio:[\s\S]*?)```/.exec(section)![1]!;
    const config = parseConfigObject(parse(yaml), { env: { TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}` } });
    expect(config.stores.aws?.endpoint).toBe(`http://127.0.0.1:${SANDBOX_PORTS.secretsManager}`);
    expect(config.twilio.baseUrl).toEqual(`http://127.0.0.1:${SANDBOX_PORTS.twilio}`);
    expect(config.alerts.channels).toEqual([
      expect.objectContaining({
        type: 'sns',
        topicArn: `arn:aws:sns:us-east-1:123456789012:${SANDBOX_TOPIC}`,
        endpoint: `http://127.0.0.1:${SANDBOX_PORTS.sns}`,
      }),
    ]);
    expect(section).toContain(`http://127.0.0.1:${SANDBOX_PORTS.sqs}/123456789012/${SANDBOX_QUEUE}`);
    const ports = Object.values(SANDBOX_PORTS).map((p) => `:${p}`);
    expect(section).toContain(`Twilio on ${ports[0]}, Secrets Manager on ${ports[1]}, SNS on ${ports[2]},`);
    expect(section).toContain(DUMMY_AWS);
  });
});
