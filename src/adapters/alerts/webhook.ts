import { createHmac } from 'node:crypto';
import { alertDocument, fitDocument } from '../../core/alert.js';
import type { AlertChannel } from '../../core/runtime.js';
import { classifyHttp, deliveringChannel, post, type ChannelBase } from './deliver.js';

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

/** `now`: wall-clock time of an attempt; the receiver compares it with its own clock. */
export function webhookChannel(
  base: ChannelBase,
  url: string,
  key: () => Buffer,
  now: () => number = Date.now,
): AlertChannel {
  return deliveringChannel(
    'webhook',
    base,
    (alert, s) => {
      const body = JSON.stringify(alertDocument(fitDocument(alert)));
      const id = `msg_${alert.id}`;
      const signed = () => {
        const timestamp = Math.floor(now() / 1000);
        const signature = sign(key(), id, timestamp, body);
        return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature };
      };
      return post(url, body, signed, s);
    },
    (err) => classifyHttp(err),
  );
}
