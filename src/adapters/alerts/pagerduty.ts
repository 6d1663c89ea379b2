import { CHANNEL_LIMITS, clip, fitAlert, type Alert } from '../../core/alert.js';
import type { AlertChannel } from '../../core/runtime.js';
import { classifyHttp, deliveringChannel, post, type ChannelBase, type HttpStatusError } from './deliver.js';

/**
 * PagerDuty Events API v2: a trigger per open problem and a resolve when it clears, both with the
 * alert's dedup key (one per target and problem), so a re-notification updates the same alert and
 * the resolve closes it. The routing key is the secret; it travels only in the body. PagerDuty
 * answers 202; 400 is final; 429 and 5xx are retried (its own retry table).
 */

/** Limits of the Events API v2: summary 1024 characters, dedup_key 255. */
const SUMMARY_MAX = 1024;

/** The Events API v2 body for `alert`, within PagerDuty's 512 KB; the runbook is always in it. */
export function pagerDutyEvent(alert: Alert, routingKey: string): Record<string, unknown> {
  const size = (a: Alert) => Buffer.byteLength(JSON.stringify(eventOf(a, routingKey)));
  return eventOf(
    fitAlert(alert, (a) => size(a) <= CHANNEL_LIMITS.pagerDutyBytes),
    routingKey,
  );
}

function eventOf(alert: Alert, routingKey: string): Record<string, unknown> {
  if (alert.action === 'resolve')
    return { routing_key: routingKey, event_action: 'resolve', dedup_key: alert.dedupKey.slice(0, 255) };
  const summary = `${alert.test ? '[TEST] ' : ''}${alert.summary}`;
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: alert.dedupKey.slice(0, 255),
    client: 'twilio-key-rotator',
    payload: {
      summary: clip(summary, SUMMARY_MAX),
      source: 'twilio-key-rotator',
      severity: alert.severity,
      timestamp: alert.occurredAt,
      component: alert.target,
      group: alert.account,
      class: alert.event,
      custom_details: {
        credential: alert.credential,
        refs: alert.refs,
        ...(alert.step ? { step: alert.step } : {}),
        ...(alert.error ? { error: alert.error } : {}),
        ...(alert.details.length > 0 ? { details: alert.details } : {}),
        ...(alert.omitted ? { omitted: alert.omitted } : {}),
        runbook: alert.runbook,
        ...(alert.firstSeenAt ? { first_seen_at: alert.firstSeenAt } : {}),
        ...(alert.renotify ? { renotify: true } : {}),
      },
    },
  };
}

/** PagerDuty's error answer: its message and errors, when it sent JSON. */
function explain(e: HttpStatusError): string {
  try {
    const body = JSON.parse(e.body) as { message?: unknown; errors?: unknown };
    const errors: unknown[] = Array.isArray(body.errors) ? (body.errors as unknown[]) : [];
    return `(${[body.message, ...errors].filter((x) => typeof x === 'string').join('; ')})`;
  } catch {
    return '';
  }
}

export function pagerDutyChannel(base: ChannelBase, url: string, routingKey: () => string): AlertChannel {
  const channel = deliveringChannel(
    'pagerduty',
    base,
    (alert, s) => post(url, JSON.stringify(pagerDutyEvent(alert, routingKey())), () => ({}), s),
    (err) => classifyHttp(err, explain),
  );
  return {
    ...channel,
    async send(alert, signal) {
      await channel.send(alert, signal);
      // A test opens an alert to prove the route, and closes it at once so nobody is left paged.
      if (alert.test) await channel.send({ ...alert, action: 'resolve' }, signal);
    },
  };
}
