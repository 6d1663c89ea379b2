import type { AdminCredential } from './secret-values.js';

/** The ports adapters implement and fakes stand in for. Every method is safe to repeat after a crash. */

/** One consumer's answer to "which credential do you hold?" */
export interface ProbeResult {
  /** Without its query string (which may hold a token). */
  url: string;
  /** The credential reference (key SID or token fingerprint) it answered, if any. */
  reported?: string;
  ok: boolean;
  problem?: string;
}

export interface StoredVersion {
  versionId: string;
  stages: string[];
  createdAtMs: number;
  /** The secret text of a labelled version. */
  value?: string;
  /** SecretBinary, which this tool never writes and cannot read. */
  binary?: boolean;
  /** Not fetched: ReadOptions.wantValue said it was not needed. */
  skipped?: boolean;
  /** Not read: what its rotator:current tag claims it holds (core/claim.ts); only with ReadOptions.claims. */
  claim?: { ref: string; createdAtMs: number };
}

/** The identity of a secret the dry run has not created: its real one (an ARN) comes with creation. */
export const UNKNOWN_IDENTITY = 'dry-run:not-created-yet';

export interface StoredSecret {
  secretId: string;
  /**
   * Unique beyond the name: the ARN (a suffix new with every secret of that name), the file store's id.
   * Keys are named after it (core/rotation-id.ts), so a secret of the same name elsewhere never matches.
   */
  identity: string;
  /** Labelled versions only. */
  versions: StoredVersion[];
  /** Deprecated version ids included, unless `versionIdsComplete` is false. */
  allVersionIds: string[];
  versionIdsComplete?: boolean;
  tags: Readonly<Record<string, string>>;
}

/**
 * - stored:         a new version was written.
 * - already-stored: this token already holds this exact value (a repeat after a crash).
 * - token-conflict: the token (or, for create, the secret) is taken by a different value — another
 *                   rotator got there first. The caller must revoke what it made and stop.
 */
export type PutResult = 'stored' | 'already-stored' | 'token-conflict';

/**
 * Version id → labels, as the caller last saw them: a store may act on them instead of looking
 * first, and must look when they turn out wrong (the label move is refused).
 */
export type SeenLabels = Readonly<Record<string, readonly string[]>>;

export interface ReadOptions {
  /** List every version id too (needed before naming a new version). */
  versionIds?: boolean;
  /** Which labelled versions' values to fetch; default every one. */
  wantValue?: (
    version: { versionId: string; stages: readonly string[] },
    tags: Readonly<Record<string, string>>,
  ) => boolean;
  /** Ask the store itself, past anything this run remembers (a racing writer's work must show). */
  fresh?: boolean;
  /** A version a sweep knows only by its claim (StoredVersion.claim) will do: the look can only find nothing due. */
  claims?: boolean;
  /** Only AWSCURRENT (an admin credential), in one call and without tags. Never for a secret a step acts on. */
  currentOnly?: boolean;
}

export interface SecretStore {
  read(secretId: string, options?: ReadOptions): Promise<StoredSecret | undefined>;
  /** Labels and tags as one comparable string (core/labels.ts `labelsStamp`): is what this run remembers true? */
  labels?(secretId: string): Promise<string>;
  /** Every version id, deprecated ones included, where a plain read may leave them out. */
  listVersionIds?(secretId: string): Promise<string[]>;
  /**
   * Many secrets' labels, tags and current values in a few calls (Secrets Manager's ListSecrets and
   * BatchGetSecretValue), where the configuration allows it. What it returns may be minutes old and
   * holds only the current version's value: good for concluding that nothing is due, never for acting
   * (the engine reads a secret again before any step). Secrets it cannot tell about are left out.
   * Where the listing shows a trusted claim (core/claim.ts), the current value is not read at all.
   * `settled` hears of each secret as soon as what the sweep says of it is known (undefined: left out).
   */
  sweep?(
    secretIds: readonly string[],
    settled?: (secretId: string, secret: StoredSecret | undefined) => void,
  ): Promise<Map<string, StoredSecret>>;
  /** Lets go of open connections at the end of a long-running process's run. */
  close?(): void;
  /** Creates the secret without a value, so it has its identity before its first key; may exist already. */
  reserve(secretId: string): Promise<void>;
  /**
   * Creates the secret with one version `token` labelled AWSCURRENT. A secret that exists without
   * an AWSCURRENT version (created empty, e.g. by Terraform) gets `token` as its current version.
   */
  create(secretId: string, token: string, value: string): Promise<PutResult>;
  /** Adds `token` as AWSCURRENT (the old one AWSPREVIOUS) in one write: `secret put --replace`, not rotations. */
  putCurrent(secretId: string, token: string, value: string): Promise<PutResult>;
  /** Adds version `token` labelled AWSPENDING (taking the label from any other version). */
  putPending(secretId: string, token: string, value: string): Promise<PutResult>;
  /** Makes `token` AWSCURRENT (the old one AWSPREVIOUS), then drops its AWSPENDING; done whoever moved it. */
  promote(secretId: string, token: string, seen?: SeenLabels): Promise<void>;
  /** Removes AWSPENDING from `token` when it carries it; the version becomes deprecated. */
  abandonPending(secretId: string, token: string, seen?: SeenLabels): Promise<void>;
  /** Adds or overwrites tags; other tags are kept. */
  setTags(secretId: string, tags: Readonly<Record<string, string>>): Promise<void>;
}

export interface RestrictedPolicy {
  allow: string[];
}

export interface TwilioKey {
  sid: string;
  friendlyName: string | null;
  createdAtMs: number;
}

export interface CreatedKey extends TwilioKey {
  secret: string; // shown by Twilio exactly once
}

/** One active subaccount of a fleet's parent, with the Auth Token the parent's list gave for it. */
export interface Subaccount {
  accountSid: string;
  friendlyName: string;
  authToken: string;
}

/** A parent account's subaccounts (Twilio's 2010 Accounts list), read with the parent's Auth Token. */
export interface Subaccounts {
  /** Active subaccounts, `friendlyName` matched exactly by Twilio when given; more than `limit` fails. */
  list(filter: { friendlyName?: string; limit: number }): Promise<Subaccount[]>;
}

/** Key management on one account, authenticated with the admin credential. */
export interface TwilioKeys {
  /**
   * Every key on the account, all pages, or an error: never a partial list. A list remembered from earlier
   * in the run that lacks one of `expect` (SIDs just seen referenced) is out of date: listed again.
   */
  list(options?: { expect?: readonly string[] }): Promise<readonly TwilioKey[]>;
  create(request: { friendlyName: string; policy?: RestrictedPolicy }): Promise<CreatedKey>;
  /** The policy of a key, `null` for a Standard or Main key, `undefined` when the key does not exist. */
  fetchPolicy(sid: string): Promise<RestrictedPolicy | null | undefined>;
  /** 'already-gone' when Twilio says 404: deleting is idempotent. */
  remove(sid: string): Promise<'deleted' | 'already-gone'>;
}

/** An account OAuth app's permissions (docs/oauth-apps.md F4): Restricted-key strings; `deny` wins. */
export interface AppPolicy {
  allow: string[];
  deny?: string[];
}

export interface OAuthAppSpec {
  friendlyName: string;
  description: string;
  policy: AppPolicy;
  accessTokenTtlSeconds: number;
}

export interface OAuthApp extends OAuthAppSpec {
  sid: string; // OQ…: the client ID
  createdAtMs: number;
}

/** An account's OAuth apps, managed with the admin credential. */
export interface TwilioOAuthApps {
  /** Every app of the account, or an error: a partial list could make a live app look like an orphan. */
  list(): Promise<OAuthApp[]>;
  fetch(sid: string): Promise<OAuthApp | undefined>;
  /** Twilio shows the client secret exactly once, here. */
  create(spec: OAuthAppSpec): Promise<OAuthApp & { secret: string }>;
  remove(sid: string): Promise<'deleted' | 'already-gone'>;
}

export interface OAuthClientCredentials {
  accountSid: string;
  clientId: string;
  clientSecret: string;
}

/** Proves client credentials work: a token from the token endpoint, then one read with it. */
export interface OAuthVerifier {
  verify(creds: OAuthClientCredentials, how: VerifyMethod): Promise<VerifyResult>;
}

/**
 * `runtime.ports['oauth-app']` (src/wiring.ts): TwilioOAuthApps naming the admin credential and account in
 * every call, so one port serves every target and a wrapper (dry run, crash points) sees each create and remove.
 */
export type OAuthAppsPort = OAuthVerifier & {
  [K in keyof TwilioOAuthApps]: (
    admin: AdminCredential,
    accountSid: string,
    ...args: Parameters<TwilioOAuthApps[K]>
  ) => ReturnType<TwilioOAuthApps[K]>;
};

/** Not proven: `definitive` when Twilio refused the credential, not when Twilio could not be asked. */
export type Refused = { ok: false; definitive: boolean; reason: string; hint?: string };
export type VerifyResult = { ok: true } | Refused;

/** Proves that a key authenticates, using the key itself. */
export interface KeyVerifier {
  verify(key: { accountSid: string; sid: string; secret: string }, how: VerifyMethod): Promise<VerifyResult>;
}

/** The account's Auth Tokens, managed with the admin credential (the Auth Token itself or a Main key). */
export interface AuthTokens {
  /**
   * 'exists': a secondary was there (400/70002 to the first attempt). 'exists-after-unknown': the 70002
   * followed an attempt of unknown outcome (5xx, dropped, timed out), which probably made it; its value is lost.
   */
  createSecondary(): Promise<{ token: string } | 'exists' | 'exists-after-unknown'>;
  /** 'none' when there was no secondary token (404/20404): deleting is idempotent. */
  deleteSecondary(): Promise<'deleted' | 'none'>;
  /** The old primary stops working at once. 'no-secondary' when there is none to promote (404/20404). */
  promote(): Promise<{ token: string } | 'no-secondary'>;
}

/** What one look at a token says: it works (and whether it is the primary), or it is refused. */
export type TokenCheck = { ok: true; primary: boolean } | Refused;

/** Asks Twilio about a token, using only that token. */
export interface TokenVerifier {
  /** `refusalSettles`: a refusal is expected (an old primary), so one 401 is the answer, not asked again. */
  check(accountSid: string, token: string, options?: { refusalSettles?: boolean }): Promise<TokenCheck>;
}

export type VerifyMethod =
  | { kind: 'list-incoming-phone-numbers' }
  | { kind: 'list-messages' }
  | { kind: 'fetch-own-key' }
  | { kind: 'url'; url: string };
