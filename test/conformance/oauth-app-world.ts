import { randomBytes } from 'node:crypto';
import type { OAuthApp, OAuthAppsPort } from '../../src/core/ports.js';
import { fakeWorldOf } from '../support/fakes.js';
import type { KindWorld } from './kinds.js';

/**
 * The oauth-app kind's conformance world: the fakes' store and clock, and OAuth apps held in memory
 * by a fake port whose apps work exactly while they exist (the emulator-backed suites check the wire).
 */
export async function oauthAppWorld(gate: Record<string, unknown>): Promise<KindWorld> {
  const apps = new Map<string, OAuthApp & { secret: string }>();
  let now = () => 0;
  const port: OAuthAppsPort = {
    list: () => Promise.resolve([...apps.values()].map(({ secret: _s, ...app }) => app)),
    fetch: (_admin, _account, sid) => Promise.resolve(apps.get(sid)),
    create(_admin, _account, spec) {
      const app = {
        ...spec,
        sid: `OQ${randomBytes(16).toString('hex')}`,
        createdAtMs: now(),
        secret: randomBytes(32).toString('hex'),
      };
      apps.set(app.sid, app);
      return Promise.resolve(app);
    },
    remove: (_admin, _account, sid) => Promise.resolve(apps.delete(sid) ? 'deleted' : 'already-gone'),
    verify: (creds) =>
      Promise.resolve(
        apps.get(creds.clientId)?.secret === creds.clientSecret
          ? { ok: true }
          : { ok: false, definitive: true, reason: 'HTTP 400 (Twilio error 20003) from the token endpoint' },
      ),
  };
  const w = await fakeWorldOf(
    [
      {
        kind: 'oauth-app',
        name: 'oauth',
        accountSid: 'AC' + 'a'.repeat(32),
        policy: { allow: ['/twilio/messaging/messages/list'] },
        friendlyNamePrefix: 'rot-oauth-',
        // On Secrets Manager (the memory store stands in for both), so its rotation protocol applies.
        secret: { store: 'aws', secretId: 'twilio/oauth' },
        admin: { store: 'file', secretId: 'twilio/admin' },
        gate,
      },
    ],
    { stores: { file: { path: '/nonexistent/never-used.json' }, aws: { region: 'us-east-1' } } },
  );
  now = () => w.now();
  w.runtime = { ...w.runtime, ports: { ...w.runtime.ports, 'oauth-app': port } };
  return {
    config: w.config,
    runtime: w.runtime,
    target: 'oauth',
    advance: (ms) => w.advance(ms),
    live: () => Promise.resolve([...apps.keys()]),
  };
}
