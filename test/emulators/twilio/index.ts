import { EmulatorControls, serve } from '../common/index.js';
import { createDispatcher } from './dispatch.js';
import { TwilioState, type KeyType, type Policy } from './state.js';

/**
 * A Twilio emulator on one port: IAM v1 Keys, 2010 Keys/Account/data lists and Accounts v1
 * AuthTokens, routed by path. Behaviour follows /work/shared/reference/twilio-api.md §0–§4 and §7.
 */

export { TWILIO_OPERATIONS, type TwilioOperation } from './routes.js';
export { PERMISSION_RESOURCES, MAX_PERMISSIONS } from './auth.js';
export type { KeyType, Policy } from './state.js';

export interface TwilioEmulatorOptions {
  port?: number;
  accountSid?: string;
  authToken?: string;
  now?: () => number;
}

export interface KeyView {
  sid: string;
  friendlyName: string | null;
  type: KeyType;
  createdAt: Date;
  policy?: Policy;
}

export interface TwilioEmulator {
  url: string;
  close(): Promise<void>;
  controls: EmulatorControls;
  /** The main account, created at start-up. */
  accountSid: string;
  /** Current primary Auth Token of an account (default: the main account). */
  authToken(accountSid?: string): string;
  addAccount(opts?: { parentSid?: string }): { sid: string; authToken: string };
  /** Creates a key directly; the only way to get a Main key, as on the real service (Console only). */
  seedKey(opts: { accountSid?: string; type: KeyType; policy?: Policy; friendlyName?: string; createdAt?: Date }): {
    sid: string;
    secret: string;
  };
  /** Live keys of an account, oldest date_updated first, without HTTP. */
  listKeys(accountSid?: string): KeyView[];
  /** Every secret and token the emulator ever issued, for leak scans. */
  issuedSecrets(): string[];
  /** Per-account in-flight limit; above it requests get 429/20429. `undefined` lifts it. */
  setConcurrencyLimit(n: number | undefined): void;
  /** Rewrites the success body of one operation, to feed a client corrupt responses. */
  setResponseMutator(operation: string, fn: ((body: any) => any) | undefined): void;
  setClock(fn: () => number): void;
}

export async function startTwilioEmulator(opts: TwilioEmulatorOptions = {}): Promise<TwilioEmulator> {
  const state = new TwilioState(opts.now ?? Date.now);
  const main = state.addAccount({
    ...(opts.accountSid ? { sid: opts.accountSid } : {}),
    ...(opts.authToken ? { authToken: opts.authToken } : {}),
  });
  const controls = new EmulatorControls('twilio');
  const mutators = new Map<string, (body: any) => any>();
  let concurrencyLimit: number | undefined;
  const server = await serve(
    createDispatcher({ state, controls, mutators, concurrencyLimit: () => concurrencyLimit }),
    opts.port ?? 0,
  );

  const accountOf = (sid: string | undefined) => {
    const account = state.accounts.get(sid ?? main.sid);
    if (!account) throw new Error(`twilio emulator: no account ${sid}`);
    return account;
  };

  return {
    url: server.url,
    close: () => server.close(),
    controls,
    accountSid: main.sid,
    authToken: (sid) => accountOf(sid).primaryToken,
    addAccount: (o = {}) => {
      const parent = o.parentSid === undefined ? undefined : accountOf(o.parentSid);
      const account = state.addAccount(parent ? { parentSid: parent.sid } : {});
      return { sid: account.sid, authToken: account.primaryToken };
    },
    seedKey: (o) => {
      const account = accountOf(o.accountSid);
      if (o.type === 'restricted' && !o.policy) throw new Error('twilio emulator: a restricted key needs a policy');
      const key = state.addKey(
        account.sid,
        o.type,
        o.friendlyName ?? null,
        o.type === 'restricted' ? o.policy : undefined,
        o.createdAt?.getTime(),
      );
      return { sid: key.sid, secret: key.secret };
    },
    listKeys: (sid) =>
      state.keysOf(accountOf(sid).sid).map((k) => ({
        sid: k.sid,
        friendlyName: k.friendlyName,
        type: k.type,
        createdAt: new Date(k.createdAtMs),
        ...(k.policy ? { policy: { allow: [...k.policy.allow] } } : {}),
      })),
    issuedSecrets: () => [...state.issued],
    setConcurrencyLimit: (n) => {
      concurrencyLimit = n;
    },
    setResponseMutator: (operation, fn) => {
      if (fn) mutators.set(operation, fn);
      else mutators.delete(operation);
    },
    setClock: (fn) => {
      state.now = fn;
    },
  };
}
