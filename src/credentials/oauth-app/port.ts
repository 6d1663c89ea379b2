import { randomBytes } from 'node:crypto';
import type { OAuthApp, OAuthAppsPort, TwilioOAuthApps } from '../../core/ports.js';
import type { AdminCredential } from '../../core/secret-values.js';

export type { OAuthAppsPort };

/** The port bound to one target's admin credential and account. */
export function appsOf(port: OAuthAppsPort, admin: AdminCredential, accountSid: string): TwilioOAuthApps {
  return {
    list: () => port.list(admin, accountSid),
    fetch: (sid) => port.fetch(admin, accountSid, sid),
    create: (spec) => port.create(admin, accountSid, spec),
    remove: (sid) => port.remove(admin, accountSid, sid),
  };
}

/** Imaginary apps' client IDs in a dry run (the output calls them OQ(new)). */
export const NEW_APP_PREFIX = 'OQd00d';

/**
 * The dry run's port: the real lists, read once per account; creations and deletions only in memory;
 * imaginary apps "verify" by fiat, real ones for real.
 */
export function dryPort(real: OAuthAppsPort): OAuthAppsPort {
  const lists = new Map<string, Promise<OAuthApp[]>>();
  const minted: OAuthApp[] = [];
  const removed = new Set<string>();
  const live = async (admin: AdminCredential, accountSid: string) => {
    let seeded = lists.get(accountSid);
    if (!seeded) lists.set(accountSid, (seeded = real.list(admin, accountSid)));
    return [...(await seeded), ...minted].filter((a) => !removed.has(a.sid));
  };
  return {
    list: live,
    fetch: async (admin, accountSid, sid) => (await live(admin, accountSid)).find((a) => a.sid === sid),
    create(_admin, _accountSid, spec) {
      const app = { ...spec, sid: `${NEW_APP_PREFIX}${String(minted.length + 1).padStart(28, '0')}`, createdAtMs: 0 };
      minted.push(app);
      return Promise.resolve({ ...app, secret: randomBytes(32).toString('hex') });
    },
    remove(_admin, _accountSid, sid) {
      if (removed.has(sid)) return Promise.resolve('already-gone' as const);
      removed.add(sid);
      return Promise.resolve('deleted' as const);
    },
    verify: (creds, how) =>
      creds.clientId.startsWith(NEW_APP_PREFIX) ? Promise.resolve({ ok: true as const }) : real.verify(creds, how),
  };
}
