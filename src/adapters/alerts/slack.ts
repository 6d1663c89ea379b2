import { CHANNEL_LIMITS, fitAlert, type Alert } from '../../core/alert.js';
import type { AlertChannel } from '../../core/runtime.js';
import { classifyHttp, deliveringChannel, post, type ChannelBase, type HttpStatusError } from './deliver.js';

/**
 * A Slack incoming webhook: one readable message per alert, with the runbook line. The webhook URL is
 * the secret (anyone holding it may post), so it comes from an environment variable and is never
 * printed. Slack answers 200 "ok", or 400/403/404/410 with a short code (invalid_payload,
 * action_prohibited, channel_not_found or no_service, channel_is_archived): final; 429 and 5xx retried.
 */

const ICON: Record<Alert['severity'], string> = {
  critical: ':rotating_light:',
  error: ':x:',
  warning: ':warning:',
  info: ':information_source:',
};

/** Slack's three control characters; everything else in mrkdwn is literal enough. */
const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The message for `alert`, within Slack's text limit, its runbook line always last and whole. */
export function slackText(alert: Alert): string {
  return renderText(fitAlert(alert, (a) => renderText(a).length <= CHANNEL_LIMITS.slackTextChars));
}

function renderText(alert: Alert): string {
  const more = (n: number | undefined) => (n ? [`… and ${n} more`] : []);
  const test = alert.test ? '[TEST] ' : '';
  const still = alert.renotify ? ' (still open)' : '';
  const head =
    alert.action === 'resolve'
      ? `:white_check_mark: *${escape(alert.summary)}*`
      : `${ICON[alert.severity]} *${test}${escape(alert.summary)}*${still}`;
  const remote = alert.error?.remote;
  const answeredBy = remote
    ? ` (${[remote.service, remote.status, remote.code].filter((x) => x !== undefined).join(' ')})`
    : '';
  const facts = [
    alert.test
      ? ''
      : `target \`${escape(alert.target)}\` · ${escape(alert.credential)} · account ${escape(alert.account)}`,
    alert.refs.length > 0
      ? `credentials: ${[...alert.refs.map((r) => `\`${escape(r)}\``), ...more(alert.omitted?.refs)].join(', ')}`
      : '',
    alert.step ? `step: \`${escape(alert.step)}\`` : '',
    alert.error ? `error${answeredBy}: ${escape(alert.error.message)}` : '',
    ...[...alert.details, ...more(alert.omitted?.details)].map((d) => `• ${escape(d)}`),
    alert.firstSeenAt && alert.action === 'trigger' ? `open since ${alert.firstSeenAt}` : '',
  ].filter(Boolean);
  return [head, ...facts, `*What to do:* ${escape(alert.runbook)}`].join('\n');
}

export function slackChannel(base: ChannelBase, url: () => string): AlertChannel {
  const explain = (e: HttpStatusError) => (/^[a-z_]{3,40}$/.test(e.body.trim()) ? `(${e.body.trim()})` : '');
  return deliveringChannel(
    'slack',
    base,
    (alert, s) => post(url(), JSON.stringify({ text: slackText(alert) }), () => ({}), s),
    (err) => classifyHttp(err, explain),
  );
}
