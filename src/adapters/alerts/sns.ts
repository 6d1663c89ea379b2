import type { PublishCommandInput, SNSClient } from '@aws-sdk/client-sns';
import { alertDocument, fitDocument, type Alert } from '../../core/alert.js';
import type { AlertChannel } from '../../core/runtime.js';
import { awsClientOptions, awsRetryable, type AwsErrorShape, type AwsStaticCredentials } from '../retry.js';
import { deliver, type DeliveryPolicy } from './deliver.js';
import { AnswerTooLargeError, boundAnswers, MiB } from '../../util/bounded-body.js';

/**
 * SNS Publish of the webhook's JSON document, with event, severity and target as message attributes
 * for subscription filters. Throttling, 5xx and network errors are retried; other errors are final.
 * The SDK is loaded on first use, so a run without an SNS channel never reads it.
 */

export interface SnsOptions {
  topicArn: string;
  region: string;
  endpoint?: string;
  credentials?: AwsStaticCredentials;
}

/** What SNS said, in words: its error code, the HTTP status and its message (cut to a line). */
export function snsWhy(e: AwsErrorShape | undefined, topicArn: string): string {
  if (e?.name === 'TimeoutError') return 'no answer within timeoutSeconds';
  const status = e?.$metadata?.httpStatusCode;
  // The SDK names an error it cannot parse plain "Error": then only the status and message are known.
  const named = e?.name && e.name !== 'Error' && e.name !== 'UnknownError' ? e.name : undefined;
  const code = e?.Code ?? named ?? 'an error without an SNS error code';
  const said = e?.message ? `: ${oneLine(e.message)}` : '';
  const denied = code === 'AuthorizationError' || e?.name === 'AuthorizationErrorException';
  const hint = denied ? `; grant sns:Publish on ${topicArn}` : '';
  return `SNS answered ${code}${status !== undefined ? ` (HTTP ${status})` : ''}${said}${hint}`;
}

const oneLine = (text: string) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 299)}…` : flat;
};

/** "Less than 100 characters", no line breaks or control characters (PublishInput.Subject). */
function subject(alert: Alert): string {
  // eslint-disable-next-line no-control-regex
  const text = `${alert.test ? '[TEST] ' : ''}[twilio-key-rotator] ${alert.summary}`.replace(/[\x00-\x1f\x7f]/g, ' ');
  return text.length > 99 ? `${text.slice(0, 98)}…` : text;
}

export function publishInput(alert: Alert, topicArn: string): PublishCommandInput {
  const attribute = (value: string) => ({ DataType: 'String', StringValue: value });
  return {
    TopicArn: topicArn,
    Subject: subject(alert),
    Message: JSON.stringify(alertDocument(fitDocument(alert))),
    MessageAttributes: {
      event: attribute(alert.event),
      severity: attribute(alert.severity),
      target: attribute(alert.target),
    },
    // A FIFO topic needs a group; the alert's id makes a retried publish a duplicate SNS drops.
    ...(topicArn.endsWith('.fifo') ? { MessageGroupId: alert.target, MessageDeduplicationId: alert.id } : {}),
  };
}

export function snsChannel(
  name: string,
  events: ReadonlySet<string>,
  options: SnsOptions,
  policy: DeliveryPolicy,
): AlertChannel {
  const channel = { name, type: 'sns' as const };
  let client: Promise<{ client: SNSClient; Publish: typeof import('@aws-sdk/client-sns').PublishCommand }> | undefined;
  const connect = () =>
    (client ??= import('@aws-sdk/client-sns').then((sdk) => ({
      // Publish answers a message id: anything past 1 MiB is refused unread (util/bounded-body.ts).
      client: boundAnswers(
        new sdk.SNSClient(awsClientOptions({ ...options, timeoutMs: policy.timeoutMs })),
        MiB,
        'SNS',
      ),
      Publish: sdk.PublishCommand,
    })));
  return {
    ...channel,
    events,
    async send(alert, signal) {
      const { client: sns, Publish } = await connect();
      await deliver(
        channel,
        policy,
        signal,
        (s) => sns.send(new Publish(publishInput(alert, options.topicArn)), { abortSignal: s }),
        (err) => {
          const e = err as AwsErrorShape;
          const status = e?.$metadata?.httpStatusCode;
          return {
            retryable: awsRetryable(err),
            ...(status !== undefined ? { status } : {}),
            ...(e?.name ? { code: e.name } : {}),
            why:
              err instanceof AnswerTooLargeError
                ? (err.message.split('\n')[0] ?? err.name)
                : snsWhy(e, options.topicArn),
          };
        },
      );
    },
  };
}
