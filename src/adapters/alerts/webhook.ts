import { createHmac } from 'node:crypto';
import { alertDocument, fitDocument, type Alert } from '../../core/alert.js';
import type { AlertChannel } from '../../core/runtime.js';
import { classifyHttp, deliver, post, type DeliveryPolicy } from './deliver.js';

/**
 * A generic webhook signed the Standard Webhooks way, so a receiver can verify it with any Standard
 * Webhooks library: `webhook-id` (the alert's id, the same on every attempt: an idempotency key),
 * `webhook-timestamp` (Unix seconds of this attempt, re-signed on each: a receiver rejects old ones
 * as replays), `webhook-signature` ("v1," + base64 HMAC-SHA256 of "<id>.<timestamp>.<body>" with the
 * key the signing secret encodes). The body is {type, timestamp, data}; a 2xx answer is success.
 */

export function sign(key: Buffer, id: string, timestampSeconds: number, body: string): string {
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
}

export function webhookChannel(
  name: string,
  events: ReadonlySet<string>,
  url: string,
  key: () => Buffer,
  policy: DeliveryPolicy,
  /** Wall-clock time of an attempt; the receiver compares it with its own clock. */
  now: () => number = Date.now,
): AlertChannel {
  const channel = { name, type: 'webhook' as const };
  return {
    ...channel,
    events,
    async send(alert: Alert, signal) {
      const body = JSON.stringify(alertDocument(fitDocument(alert)));
      const id = `msg_${alert.id}`;
      await deliver(
        channel,
        policy,
        signal,
        (s) =>
          post(
            url,
            body,
            () => {
              const timestamp = Math.floor(now() / 1000);
              return {
                'webhook-id': id,
                'webhook-timestamp': String(timestamp),
                'webhook-signature': sign(key(), id, timestamp, body),
              };
            },
            s,
          ),
        (err) => classifyHttp(err),
      );
    },
  };
}
