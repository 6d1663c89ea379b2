import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/core/alert.js';
import { snsChannel, snsWhy } from '../../src/adapters/alerts/sns.js';
import { startSnsEmulator, type SnsEmulator } from '../emulators/sns/index.js';

/** An SNS failure says what SNS said: its error code, the HTTP status and its message. */

let sns: SnsEmulator;
beforeAll(async () => {
  sns = await startSnsEmulator();
});
afterAll(() => sns.close());

const alert = {
  id: 'a1',
  event: 'test',
  severity: 'info',
  target: 'app',
  summary: 'test',
  test: true,
} as unknown as Alert;
const policy = { timeoutMs: 2000, attempts: 1, minDelayMs: 0 };
const channelTo = (topicArn: string) =>
  snsChannel(
    'topic',
    new Set(['test']),
    {
      topicArn,
      region: 'us-east-1',
      endpoint: sns.url,
      credentials: { accessKeyId: 'AKIDSNSUNIT', secretAccessKey: 'not-a-secret' },
    },
    policy,
  );
const failure = (topicArn: string) =>
  channelTo(topicArn)
    .send(alert, new AbortController().signal)
    .then(
      () => '',
      (err: Error) => err.message,
    );

describe('an SNS delivery failure', () => {
  it('names the error code, status and message of a missing topic', async () => {
    const arn = sns.createTopicDirect('present');
    expect(await failure(`${arn}-gone`)).toMatch(
      /not delivered: SNS answered NotFound \(HTTP 404\): Topic does not exist$/,
    );
  });

  it('names an authorization error and says which permission to grant', async () => {
    const arn = sns.createTopicDirect('denied');
    sns.deny({ topicArn: arn });
    try {
      expect(await failure(arn)).toMatch(
        new RegExp(`SNS answered AuthorizationError \\(HTTP 403\\): .*not authorized.*; grant sns:Publish on ${arn}`),
      );
    } finally {
      sns.clearDenies();
    }
  });

  it('says what it knows when the SDK could not read a code (no bare "Error (HTTP 400)")', () => {
    const unparsed = Object.assign(new Error('Bad Request'), { $metadata: { httpStatusCode: 400 } });
    expect(snsWhy(unparsed, 'arn:aws:sns:us-east-1:123456789012:t')).toBe(
      'SNS answered an error without an SNS error code (HTTP 400): Bad Request',
    );
  });
});
