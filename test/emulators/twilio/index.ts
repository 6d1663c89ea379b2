import { EmulatorControls, serve } from '../common/index.js';
import { DEFAULT_MAX_SUBACCOUNTS } from './accounts.js';
import { createDispatcher } from './dispatch.js';
import {
  ACCOUNT_STATUSES,
  TwilioState,
  type Account,
  type AccountStatus,
  type KeyType,
  type Policy,
  type TwilioSnapshot,
} from './state.js';

/**
 * A Twilio emulator on one port: IAM v1 Keys and account OAuth apps, the OAuth token endpoint, 2010
 * Accounts (with subaccounts), Keys and data lists, and Accounts v1 AuthTokens, routed by path.
 * Behaviour follows /work/shared/reference/twilio-api.md §0–§4 and §7, for subaccounts the sources
 * cited in accounts.ts and auth.ts, and for OAuth apps docs/oauth-apps.md.
 */

export { TWILIO_OPERATIONS, type TwilioOperation } from './routes.js';
export { PERMISSION_RESOURCES, MAX_PERMISSIONS } from './auth.js';
export type { AccountStatus, KeyType, Policy, TwilioSnapshot } from './state.js';
export { DEFAULT_MAX_SUBACCOUNTS } from './accounts.js';

export interface TwilioEmulatorOptions {
  port?: number;
  accountSid?: string;
  authToken?: string;
  now?: () => number;
  /** Subaccounts one main account may create through the API (Twilio's default: 1000). */
  maxSubaccounts?: number;
  /**
   * Accounts and keys to start from (a `snapshot()` of an earlier emulator) instead of a new main
   * account; accountSid and authToken are then ignored. Its first main account is the main account.
   */
  restore?: TwilioSnapshot;
}

export interface AccountView {
  sid: string;
  /** The parent's SID for a subaccount, its own SID for a main account (owner_account_sid). */
  ownerAccountSid: string;
  friendlyName: string;
  status: AccountStatus;
  createdAt: Date;
}

export interface KeyView {
  sid: string;
  friendlyName: string | null;
  type: KeyType;
  createdAt: Date;
  policy?: Policy;
}

export interface OAuthAppView {
  sid: string;
  friendlyName: string;
  description: string;
  policy: Policy;
  accessTokenTtlSeconds: number;
  createdAt: Date;
}

export interface TwilioEmulator {
  url: string;
  close(): Promise<void>;
  controls: EmulatorControls;
  /** The main account, created at start-up. */
  accountSid: string;
  /** Current primary Auth Token of an account (default: the main account). */
  authToken(accountSid?: string): string;
  /** The account's secondary Auth Token, if it has one. */
  secondaryToken(accountSid?: string): string | undefined;
  /** Creates a secondary Auth Token directly, as a person in the Console would (replacing none). */
  seedSecondary(accountSid?: string): string;
  /** Deletes the secondary Auth Token directly, as a person in the Console would. */
  dropSecondary(accountSid?: string): void;
  /**
   * Creates an account directly: a main account, or with parentSid a subaccount of one (no API rules,
   * no subaccount limit), as when the Console creates it.
   */
  addAccount(opts?: { parentSid?: string; friendlyName?: string }): { sid: string; authToken: string };
  /** One account as the API would describe it (default: the main account), without HTTP. */
  account(accountSid?: string): AccountView;
  /** Subaccounts of a main account (default: the main account), oldest first, closed ones included. */
  listSubaccounts(parentSid?: string): AccountView[];
  /**
   * Sets an account's status as Twilio itself would (e.g. suspending a main account for an unpaid
   * balance, which the API cannot do); subaccounts of a suspended main account stop working too.
   */
  setAccountStatus(accountSid: string, status: AccountStatus): void;
  /** Creates a key directly; the only way to get a Main key, as on the real service (Console only). */
  seedKey(opts: { accountSid?: string; type: KeyType; policy?: Policy; friendlyName?: string; createdAt?: Date }): {
    sid: string;
    secret: string;
  };
  /** Live keys of an account, oldest date_updated first, without HTTP. */
  listKeys(accountSid?: string): KeyView[];
  /** Creates an OAuth app directly, as a person in the Console would; its client ID and secret. */
  seedOAuthApp(opts: {
    accountSid?: string;
    friendlyName?: string;
    description?: string;
    policy?: Policy;
    accessTokenTtlSeconds?: number;
    createdAt?: Date;
  }): { sid: string; secret: string };
  /** Deletes an OAuth app directly, as a person in the Console would (its tokens stop working). */
  dropOAuthApp(sid: string): void;
  /** Live OAuth apps of an account, oldest first, without HTTP and without secrets. */
  listOAuthApps(accountSid?: string): OAuthAppView[];
  /** Every secret and token the emulator ever issued, for leak scans. */
  issuedSecrets(): string[];
  /**
   * In-flight limit per account; above it requests get 429/20429. A request counts against the
   * account of the credential that made it. Without accountSid the limit applies to every account
   * (dropping earlier per-account limits); with it, to that account only. `undefined` lifts it.
   */
  setConcurrencyLimit(n: number | undefined, accountSid?: string): void;
  /** Rewrites the success body of one operation, to feed a client corrupt responses. */
  setResponseMutator(operation: string, fn: ((body: any) => any) | undefined): void;
  setClock(fn: () => number): void;
  /** Accounts and keys, secrets included, as plain data for `restore` (the sandbox keeps them in .state/). */
  snapshot(): TwilioSnapshot;
}

export async function startTwilioEmulator(opts: TwilioEmulatorOptions = {}): Promise<TwilioEmulator> {
  const state = new TwilioState(opts.now ?? Date.now);
  if (opts.restore) state.restore(opts.restore);
  const restoredMain = [...state.accounts.values()].find((a) => a.parentSid === undefined);
  if (opts.restore && !restoredMain) throw new Error('twilio emulator: the snapshot to restore has no main account');
  const main =
    restoredMain ??
    state.addAccount({
      ...(opts.accountSid ? { sid: opts.accountSid } : {}),
      ...(opts.authToken ? { authToken: opts.authToken } : {}),
    });
  const controls = new EmulatorControls('twilio');
  const mutators = new Map<string, (body: any) => any>();
  let defaultLimit: number | undefined;
  const limits = new Map<string, number | undefined>();
  const maxSubaccounts = opts.maxSubaccounts ?? DEFAULT_MAX_SUBACCOUNTS;
  const server = await serve(
    createDispatcher({
      state,
      controls,
      mutators,
      concurrencyLimit: (sid) => (limits.has(sid) ? limits.get(sid) : defaultLimit),
      maxSubaccounts: () => maxSubaccounts,
    }),
    opts.port ?? 0,
  );

  const accountOf = (sid: string | undefined) => {
    const account = state.accounts.get(sid ?? main.sid);
    if (!account) throw new Error(`twilio emulator: no account ${sid}`);
    return account;
  };
  const view = (a: Account): AccountView => ({
    sid: a.sid,
    ownerAccountSid: a.parentSid ?? a.sid,
    friendlyName: a.friendlyName,
    status: a.status,
    createdAt: new Date(a.createdAtMs),
  });

  return {
    url: server.url,
    close: () => server.close(),
    controls,
    accountSid: main.sid,
    authToken: (sid) => accountOf(sid).primaryToken,
    secondaryToken: (sid) => accountOf(sid).secondary?.token,
    seedSecondary: (sid) => {
      const account = accountOf(sid);
      if (account.secondary) throw new Error(`twilio emulator: ${account.sid} already has a secondary token`);
      return state.createSecondary(account).token;
    },
    dropSecondary: (sid) => {
      delete accountOf(sid).secondary;
    },
    addAccount: (o = {}) => {
      const parent = o.parentSid === undefined ? undefined : accountOf(o.parentSid);
      if (parent?.parentSid !== undefined) throw new Error('twilio emulator: a subaccount cannot own subaccounts');
      const account = state.addAccount({
        ...(parent ? { parentSid: parent.sid } : {}),
        ...(o.friendlyName === undefined ? {} : { friendlyName: o.friendlyName }),
      });
      return { sid: account.sid, authToken: account.primaryToken };
    },
    account: (sid) => view(accountOf(sid)),
    listSubaccounts: (sid) => state.subaccountsOf(accountOf(sid).sid).map(view),
    setAccountStatus: (sid, status) => {
      if (!ACCOUNT_STATUSES.includes(status)) throw new Error(`twilio emulator: no account status ${status}`);
      const account = accountOf(sid);
      account.status = status;
      state.touch(account);
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
    seedOAuthApp: (o) => {
      const app = state.addOAuthApp(accountOf(o.accountSid).sid, {
        friendlyName: o.friendlyName ?? 'console app',
        description: o.description ?? '',
        policy: o.policy ?? { allow: ['/twilio/messaging/messages/list'] },
        accessTokenTtlSeconds: o.accessTokenTtlSeconds ?? 3600,
        ...(o.createdAt ? { createdAtMs: o.createdAt.getTime() } : {}),
      });
      return { sid: app.sid, secret: app.secret };
    },
    dropOAuthApp: (sid) => state.deleteOAuthApp(sid),
    listOAuthApps: (sid) =>
      state.oauthAppsOf(accountOf(sid).sid).map((a) => ({
        sid: a.sid,
        friendlyName: a.friendlyName,
        description: a.description,
        policy: structuredClone(a.policy),
        accessTokenTtlSeconds: a.accessTokenTtlSeconds,
        createdAt: new Date(a.createdAtMs),
      })),
    issuedSecrets: () => [...state.issued],
    setConcurrencyLimit: (n, sid) => {
      if (n !== undefined && !(Number.isInteger(n) && n >= 1))
        throw new RangeError(`twilio emulator: a concurrency limit is a positive integer, got ${n}`);
      if (sid === undefined) {
        defaultLimit = n;
        limits.clear();
      } else {
        limits.set(accountOf(sid).sid, n);
      }
    },
    setResponseMutator: (operation, fn) => {
      if (fn) mutators.set(operation, fn);
      else mutators.delete(operation);
    },
    setClock: (fn) => {
      state.now = fn;
    },
    snapshot: () => state.snapshot(),
  };
}
