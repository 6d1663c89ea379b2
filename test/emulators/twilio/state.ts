import { randomBytes, randomInt } from 'node:crypto';

/**
 * In-memory Twilio accounts, auth tokens and API keys. Pure state: no HTTP, no auth decisions.
 * Every secret value it mints is remembered in `issued`, so leak-scan tests can look for all of them.
 */

export type KeyType = 'main' | 'standard' | 'restricted';

export interface Policy {
  allow: string[];
  /** OAuth apps only: permissions refused even when `allow` grants them (docs/oauth-apps.md F4). */
  deny?: string[];
}

/** The Account resource's `status` enum (api.v2010.account, account_enum_status). */
export type AccountStatus = 'active' | 'suspended' | 'closed';
export const ACCOUNT_STATUSES: readonly AccountStatus[] = ['active', 'suspended', 'closed'];

export interface Account {
  sid: string;
  /** Set on subaccounts only; a main account's owner_account_sid is its own SID. */
  parentSid?: string;
  friendlyName: string;
  status: AccountStatus;
  primaryToken: string;
  secondary?: { token: string; createdAtMs: number };
  tokenUpdatedAtMs: number;
  createdAtMs: number;
  /** date_updated of the Account resource: name, status or Auth Token changes. */
  updatedAtMs: number;
  /** Bumped on every change to the resource, for UpdateAccount's optimistic locking (409/20409). */
  version: number;
  /** Creation order: a stable tie-break when two accounts share date_created. */
  order: number;
}

export interface Key {
  sid: string;
  accountSid: string;
  type: KeyType;
  friendlyName: string | null;
  policy?: Policy;
  secret: string;
  createdAtMs: number;
  updatedAtMs: number;
  /** Creation order: a stable tie-break when two keys share date_updated. */
  order: number;
}

/** An account OAuth app (IAM v1 `/v1/Account/OAuthApps`, docs/oauth-apps.md); its SID is the client ID. */
export interface OAuthApp {
  sid: string;
  accountSid: string;
  friendlyName: string;
  description: string;
  policy: Policy;
  accessTokenTtlSeconds: number;
  secret: string;
  createdAtMs: number;
  order: number;
}

/** An access token from the token endpoint: valid until it expires or its app is deleted. */
export interface AccessToken {
  appSid: string;
  expiresAtMs: number;
}

export interface TwilioSnapshot {
  accounts: Account[];
  keys: Key[];
  /** Absent in snapshots taken before OAuth apps existed. */
  oauthApps?: OAuthApp[];
  accessTokens?: [string, AccessToken][];
}

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function newSid(prefix: 'AC' | 'SK' | 'OQ'): string {
  return prefix + randomBytes(16).toString('hex');
}

export class TwilioState {
  readonly accounts = new Map<string, Account>();
  readonly keys = new Map<string, Key>();
  readonly oauthApps = new Map<string, OAuthApp>();
  readonly accessTokens = new Map<string, AccessToken>();
  readonly issued: string[] = [];
  private order = 0;

  constructor(public now: () => number) {}

  /** Accounts and keys as plain data, for a sandbox that keeps its account across restarts. */
  snapshot(): TwilioSnapshot {
    return structuredClone({
      accounts: [...this.accounts.values()],
      keys: [...this.keys.values()],
      oauthApps: [...this.oauthApps.values()],
      accessTokens: [...this.accessTokens.entries()],
    });
  }

  /** Puts back what `snapshot()` took; its secrets count as issued, for leak scans. */
  restore(snapshot: TwilioSnapshot): void {
    for (const account of structuredClone(snapshot.accounts)) {
      this.accounts.set(account.sid, account);
      this.issued.push(account.primaryToken, ...(account.secondary ? [account.secondary.token] : []));
      this.order = Math.max(this.order, account.order);
    }
    for (const key of structuredClone(snapshot.keys)) {
      this.keys.set(key.sid, key);
      this.issued.push(key.secret);
      this.order = Math.max(this.order, key.order);
    }
    for (const app of structuredClone(snapshot.oauthApps ?? [])) {
      this.oauthApps.set(app.sid, app);
      this.issued.push(app.secret);
      this.order = Math.max(this.order, app.order);
    }
    for (const [token, grant] of structuredClone(snapshot.accessTokens ?? [])) {
      this.accessTokens.set(token, grant);
      this.issued.push(token);
    }
  }

  /** 32 characters of base62, the observed shape of an API key secret. */
  private keySecret(): string {
    let out = '';
    for (let i = 0; i < 32; i++) out += BASE62[randomInt(BASE62.length)];
    this.issued.push(out);
    return out;
  }

  /**
   * An OAuth client secret: 64 characters of base62 plus '-' and '_', the length of the example in
   * Twilio's definition (its real alphabet is UNCONFIRMED).
   */
  private clientSecret(): string {
    const alphabet = `${BASE62}-_`;
    let out = '';
    for (let i = 0; i < 64; i++) out += alphabet[randomInt(alphabet.length)];
    this.issued.push(out);
    return out;
  }

  /** 32 hex characters, the observed shape of an Auth Token. */
  private authToken(): string {
    const token = randomBytes(16).toString('hex');
    this.issued.push(token);
    return token;
  }

  addAccount(opts: { sid?: string; authToken?: string; parentSid?: string; friendlyName?: string } = {}): Account {
    const sid = opts.sid ?? newSid('AC');
    const token = opts.authToken ?? this.authToken();
    if (opts.authToken) this.issued.push(opts.authToken);
    const at = this.now();
    const account: Account = {
      sid,
      friendlyName: opts.friendlyName ?? `Account ${sid.slice(-6)}`,
      status: 'active',
      primaryToken: token,
      tokenUpdatedAtMs: at,
      createdAtMs: at,
      updatedAtMs: at,
      version: 0,
      order: ++this.order,
    };
    if (opts.parentSid) account.parentSid = opts.parentSid;
    this.accounts.set(sid, account);
    return account;
  }

  /** Subaccounts of a main account, oldest first (closed ones included, as in Twilio's list). */
  subaccountsOf(parentSid: string): Account[] {
    return [...this.accounts.values()]
      .filter((a) => a.parentSid === parentSid)
      .sort((a, b) => a.createdAtMs - b.createdAtMs || a.order - b.order);
  }

  /**
   * Whether the account may use the API: its own status is active and so is its owner's, since "if
   * your main Twilio account is ever suspended, your subaccounts will also be suspended" (Twilio docs,
   * REST API: Subaccounts, Billing).
   */
  isActive(account: Account): boolean {
    if (account.status !== 'active') return false;
    const parent = account.parentSid === undefined ? undefined : this.accounts.get(account.parentSid);
    return parent === undefined || parent.status === 'active';
  }

  touch(account: Account): void {
    account.updatedAtMs = this.now();
    account.version++;
  }

  addKey(accountSid: string, type: KeyType, friendlyName: string | null, policy?: Policy, createdAtMs?: number): Key {
    const at = createdAtMs ?? this.now();
    const key: Key = {
      sid: newSid('SK'),
      accountSid,
      type,
      friendlyName,
      secret: this.keySecret(),
      createdAtMs: at,
      updatedAtMs: at,
      order: ++this.order,
    };
    if (policy) key.policy = { allow: [...policy.allow] };
    this.keys.set(key.sid, key);
    return key;
  }

  /** Keys of one account, oldest `date_updated` first (the documented list order). */
  keysOf(accountSid: string): Key[] {
    return [...this.keys.values()]
      .filter((k) => k.accountSid === accountSid)
      .sort((a, b) => a.updatedAtMs - b.updatedAtMs || a.order - b.order);
  }

  createSecondary(account: Account): { token: string; createdAtMs: number } {
    account.secondary = { token: this.authToken(), createdAtMs: this.now() };
    return account.secondary;
  }

  /** The secondary becomes primary; the old primary stops working at once. */
  promote(account: Account): void {
    if (!account.secondary) throw new Error(`account ${account.sid} has no secondary token`);
    account.primaryToken = account.secondary.token;
    account.tokenUpdatedAtMs = this.now();
    delete account.secondary;
    this.touch(account);
  }

  addOAuthApp(
    accountSid: string,
    o: {
      friendlyName: string;
      description: string;
      policy: Policy;
      accessTokenTtlSeconds: number;
      createdAtMs?: number;
    },
  ): OAuthApp {
    const app: OAuthApp = {
      sid: newSid('OQ'),
      accountSid,
      friendlyName: o.friendlyName,
      description: o.description,
      policy: structuredClone(o.policy),
      accessTokenTtlSeconds: o.accessTokenTtlSeconds,
      secret: this.clientSecret(),
      createdAtMs: o.createdAtMs ?? this.now(),
      order: ++this.order,
    };
    this.oauthApps.set(app.sid, app);
    return app;
  }

  /** OAuth apps of one account, oldest first. */
  oauthAppsOf(accountSid: string): OAuthApp[] {
    return [...this.oauthApps.values()]
      .filter((a) => a.accountSid === accountSid)
      .sort((a, b) => a.createdAtMs - b.createdAtMs || a.order - b.order);
  }

  /** Deleting an app invalidates its credentials and every access token issued with them (FAQ). */
  deleteOAuthApp(sid: string): void {
    this.oauthApps.delete(sid);
    for (const [token, grant] of this.accessTokens) if (grant.appSid === sid) this.accessTokens.delete(token);
  }

  /** A JWT-shaped opaque token (three base64url parts); the emulator only ever looks it up. */
  issueAccessToken(app: OAuthApp): { token: string; expiresInSeconds: number } {
    const part = (n: number) => randomBytes(n).toString('base64url');
    const token = `${part(24)}.${part(48)}.${part(32)}`;
    this.issued.push(token);
    this.accessTokens.set(token, { appSid: app.sid, expiresAtMs: this.now() + app.accessTokenTtlSeconds * 1000 });
    return { token, expiresInSeconds: app.accessTokenTtlSeconds };
  }
}
