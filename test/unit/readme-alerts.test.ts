import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { RUNBOOK, SEVERITY, type AlertEvent } from '../../src/core/alert.js';
import { parseConfigObject } from '../../src/config/validate.js';

/** README "Alerts" says what the code does: its runbooks, examples and configuration are checked here. */
const readme = readFileSync('README.md', 'utf8');
const section = readme.slice(readme.indexOf('## Alerts'), readme.indexOf('## Operations'));

describe('README alerts', () => {
  it('quotes every runbook line word for word', () => {
    for (const [event, line] of Object.entries(RUNBOOK)) expect(readme, event).toContain(`**\`${event}\`**: ${line}`);
  });

  it('has an example payload per event, of the type, action and severity the code gives it', () => {
    for (const event of Object.keys(RUNBOOK) as AlertEvent[]) {
      const line = section.split('\n').find((l) => l.startsWith(`- \`${event}\`: \``));
      expect(line, event).toBeDefined();
      const doc = JSON.parse(line!.slice(`- \`${event}\`: \``.length, -1)) as { type: string; data: any };
      expect(doc.type).toBe(`rotator.${event.replace(/-/g, '_')}`);
      expect(doc.data.event).toBe(event);
      expect(doc.data.severity).toBe(SEVERITY[event]);
    }
  });

  it('shows a configuration the loader accepts', () => {
    const yaml = /```yaml\n(alerts:[\s\S]*?)```/.exec(section)![1]!;
    const env = {
      SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX',
      PAGERDUTY_ROUTING_KEY: 'b'.repeat(32),
      ROTATOR_WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 1).toString('base64')}`,
    };
    const config = parseConfigObject(
      {
        ...(parse(yaml) as object),
        stores: { file: { path: '/tmp/x.json' } },
        targets: [
          {
            name: 'messaging',
            accountSid: `AC${'0'.repeat(32)}`,
            keyType: 'standard',
            friendlyNamePrefix: 'rot-',
            secret: { store: 'file', secretId: 'a' },
            admin: { store: 'file', secretId: 'b' },
            alerts: { channels: ['ops-slack', 'pager'] },
          },
        ],
      },
      { env },
    );
    expect(config.alerts.channels.map((c) => c.type)).toEqual(['slack', 'pagerduty', 'webhook', 'sns']);
  });
});
