import { describe, expect, it } from 'vitest';
import { alertDocument, CHANNEL_LIMITS, clip, RUNBOOK, type Alert } from '../../src/core/alert.js';
import { pagerDutyEvent } from '../../src/adapters/alerts/pagerduty.js';
import { slackText } from '../../src/adapters/alerts/slack.js';
import { publishInput } from '../../src/adapters/alerts/sns.js';

/**
 * Every channel's text stays within that channel's limit and keeps the runbook: an orphan alert
 * listing 536 keys passed Slack's 40,000 characters, and Slack cut the runbook line off the end.
 */

const sid = (i: number) => `SK${i.toString(16).padStart(32, '0')}`;

function orphanAlert(count: number): Alert {
  const orphans = Array.from({ length: count }, (_, i) => sid(i));
  return {
    id: 'a1',
    event: 'orphan-found',
    action: 'trigger',
    severity: 'warning',
    test: false,
    target: 'app',
    credential: 'api-key',
    account: `AC${'a'.repeat(32)}`,
    problem: 'orphan-found',
    summary: `app: ${count} key(s) named like this target's are left alone: ${orphans.join(', ')}`,
    details: [],
    refs: orphans,
    runbook: RUNBOOK['orphan-found'],
    dedupKey: 'twilio-key-rotator/app/orphan-found',
    firstSeenAt: '2026-12-07T00:00:00.000Z',
    occurredAt: '2026-12-07T00:00:00.000Z',
  };
}

describe('channel size limits', () => {
  it("keeps a Slack message of 536 orphan keys within Slack's 40,000 characters, runbook line last and whole", () => {
    const alert = orphanAlert(536);
    const text = slackText(alert);
    expect(text.length).toBeLessThanOrEqual(CHANNEL_LIMITS.slackTextChars);
    expect(text.endsWith(`*What to do:* ${RUNBOOK['orphan-found']}`)).toBe(true);
    // The summary repeated every key; clipped, the list of all 536 fits.
    expect(text.split('\n')[0]!.length).toBeLessThan(600);
    for (let i = 0; i < 536; i++) expect(text).toContain(`\`${sid(i)}\``);
  });

  it('lists as many keys as fit in Slack and counts the rest', () => {
    const text = slackText(orphanAlert(3000));
    expect(text.length).toBeLessThanOrEqual(CHANNEL_LIMITS.slackTextChars);
    expect(text.endsWith(`*What to do:* ${RUNBOOK['orphan-found']}`)).toBe(true);
    const more = /credentials: (.*), … and (\d+) more$/m.exec(text);
    expect(more).not.toBeNull();
    expect(more![1]!.split(', ').length + Number(more![2])).toBe(3000);
  });

  it('leaves a message that fits as it was', () => {
    const alert = orphanAlert(3);
    const text = slackText(alert);
    for (let i = 0; i < 3; i++) expect(text.split(sid(i)).length).toBe(3); // in the summary and the list
    expect(text).not.toContain('more');
  });

  it("keeps PagerDuty's event within 512 KB and its summary within 1,024 characters, runbook kept", () => {
    const event = pagerDutyEvent(orphanAlert(20_000), 'r'.repeat(32)) as {
      payload: { summary: string; custom_details: { runbook: string; refs: string[]; omitted?: { refs: number } } };
    };
    expect(Buffer.byteLength(JSON.stringify(event))).toBeLessThanOrEqual(512 * 1024);
    expect(event.payload.summary.length).toBeLessThanOrEqual(1024);
    expect(event.payload.custom_details.runbook).toBe(RUNBOOK['orphan-found']);
    expect(event.payload.custom_details.refs.length + event.payload.custom_details.omitted!.refs).toBe(20_000);
  });

  it("keeps the SNS message within SNS's 256 KiB and the webhook document alike, runbook kept", () => {
    const alert = orphanAlert(20_000);
    const input = publishInput(alert, 'arn:aws:sns:us-east-1:123456789012:t');
    const attributes = JSON.stringify(input.MessageAttributes).length + input.Subject!.length;
    expect(Buffer.byteLength(input.Message!) + attributes).toBeLessThanOrEqual(256 * 1024);
    expect(input.Subject!.length).toBeLessThan(100);
    const doc = JSON.parse(input.Message!) as ReturnType<typeof alertDocument>;
    expect(doc.data.runbook).toBe(RUNBOOK['orphan-found']);
    expect(doc.data.refs.length + doc.data.omitted!.refs!).toBe(20_000);
    expect(doc.data.refs[0]).toBe(sid(0));
  });

  it('clips a text at a word, marked', () => {
    expect(clip('alpha beta gamma delta', 14)).toBe('alpha beta…');
    expect(clip('short', 14)).toBe('short');
  });
});
