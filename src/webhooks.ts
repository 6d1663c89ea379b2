import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { validateRequest, validateRequestWithBody } from 'twilio/lib/webhooks/webhooks.js';
import { parseStamp, TAG_CURRENT_SINCE, TAG_PROMOTED, formatPromotion } from './core/labels.js';
import { fileStore } from './adapters/secrets/file-store.js';
import { isLeaked } from './core/leaked.js';
import { boundAnswers, MiB } from './util/bounded-body.js';
import { parseJson } from './util/json.js';
import { tokenFingerprint } from './credentials/registry.js';

/**
 * Webhook validation that keeps working across an Auth Token promotion: Twilio signs with the primary
 * token only, so a signature is checked against every token that may have signed it (current, pending,
 * and for a grace period the previous one), each with Twilio's own `validateRequest`. Which token
 * signs what, when, and how the validator reloads: README "Webhooks across a promotion".
 */

/** The tokens that may sign a webhook now. */
export interface SigningTokens {
  current: string;
  pending?: string;
  previous?: string;
  /**
   * The current token is being replaced by `rotate --now` (it leaked): it signs until the promotion and
   * is refused from then on, so a validator holding it refreshes within `leakedRefreshMs`.
   */
  currentLeaked?: true;
}

export type SignedWith = 'current' | 'pending' | 'previous';

export interface WebhookRequest {
  /** The X-Twilio-Signature header; a missing one is refused. */
  signature: string | undefined;
  /** The full URL Twilio requested, query included, as configured in the Twilio Console. */
  url: string;
  /** Form fields of a POST (application/x-www-form-urlencoded), or {} for a GET. */
  params?: Record<string, string | string[]>;
  /** The raw body of a JSON POST; its URL carries bodySHA256. Give `params` or `body`, not both. */
  body?: string;
}

export type WebhookVerdict =
  { valid: true; signedWith: SignedWith; fingerprint: string } | { valid: false; reason: string };

/** Checks one request against the tokens that may have signed it, current first. */
export function validateTwilioWebhook(tokens: SigningTokens, request: WebhookRequest): WebhookVerdict {
  if (!request.signature) return { valid: false, reason: 'no X-Twilio-Signature header' };
  if (request.body !== undefined && request.params !== undefined)
    return { valid: false, reason: 'give the form params or the raw JSON body, not both' };
  const order: SignedWith[] = ['current', 'pending', 'previous'];
  for (const which of order) {
    const token = tokens[which];
    if (!token) continue;
    const ok =
      request.body !== undefined
        ? validateRequestWithBody(token, request.signature, request.url, request.body)
        : validateRequest(token, request.signature, request.url, request.params ?? {});
    if (ok) return { valid: true, signedWith: which, fingerprint: tokenFingerprint(token) };
  }
  const known = order.filter((w) => tokens[w]).join(', ');
  return { valid: false, reason: `the signature matches none of the tokens that may sign now (${known})` };
}

const STAGES = ['AWSCURRENT', 'AWSPENDING', 'AWSPREVIOUS'] as const;
const isStage = (label: string): label is (typeof STAGES)[number] => (STAGES as readonly string[]).includes(label);

/** The labelled versions of a secret, by label. */
function stagesOf(versions: readonly { versionId: string; stages: readonly string[]; value?: string | undefined }[]) {
  const stages: SecretSnapshot['stages'] = {};
  for (const { versionId, value, stages: labels } of versions)
    for (const label of labels.filter(isStage))
      stages[label] = { versionId, ...(value !== undefined ? { value } : {}) };
  return stages;
}

/** A secret as the helper reads it: labelled values and the secret's tags. */
export interface SecretSnapshot {
  /** Staging label to { versionId, value }. */
  stages: Partial<Record<(typeof STAGES)[number], { versionId: string; value?: string }>>;
  tags: Readonly<Record<string, string>>;
}

export interface SigningTokenOptions {
  /** How long after a promotion the retired token is still accepted. Default 15 minutes. */
  previousGraceMs?: number;
  now?: () => number;
}

const DEFAULT_PREVIOUS_GRACE_MS = 15 * 60_000;

function tokenOf(value: string | undefined, stage: string): string | undefined {
  if (value === undefined) return undefined;
  const parsed = parseJson(value) as { authToken?: unknown } | null | undefined;
  if (parsed === undefined)
    throw new Error(`the ${stage} version is not JSON; expected {"accountSid": …, "authToken": …}`);
  const token = parsed?.authToken;
  if (typeof token !== 'string' || token.length === 0)
    throw new Error(`the ${stage} version has no authToken string field`);
  return token;
}

/**
 * The tokens a snapshot allows now. The previous token counts only for the grace period after the
 * promotion from it, and only when the rotator recorded that promotion and stamped when it happened:
 * a missing fact never widens what is accepted. A token `rotate --now` recorded as leaked gets none.
 */
export function signingTokensOf(snapshot: SecretSnapshot, options: SigningTokenOptions = {}): SigningTokens {
  const { AWSCURRENT: cur, AWSPENDING: pend, AWSPREVIOUS: prev } = snapshot.stages;
  const current = tokenOf(cur?.value, 'AWSCURRENT');
  if (!cur || current === undefined) throw new Error('the secret has no AWSCURRENT value');
  const out: SigningTokens = { current, ...(isLeaked(snapshot.tags, cur.versionId) ? { currentLeaked: true } : {}) };
  if (pend && pend.versionId !== cur.versionId) {
    const pending = tokenOf(pend.value, 'AWSPENDING');
    if (pending !== undefined && pending !== current) out.pending = pending;
  }
  const promotedByRotator = prev && snapshot.tags[TAG_PROMOTED] === formatPromotion(prev.versionId, cur.versionId);
  if (prev && promotedByRotator && !isLeaked(snapshot.tags, prev.versionId)) {
    const since = parseStamp(snapshot.tags[TAG_CURRENT_SINCE], cur.versionId);
    const now = (options.now ?? Date.now)();
    if (since !== undefined && now - since < (options.previousGraceMs ?? DEFAULT_PREVIOUS_GRACE_MS)) {
      const previous = tokenOf(prev.value, 'AWSPREVIOUS');
      if (previous !== undefined && previous !== current) out.previous = previous;
    }
  }
  return out;
}

export interface SecretsManagerSourceOptions extends SigningTokenOptions {
  secretId: string;
  /** A client you configured; otherwise one is made for `region` (and `endpoint`). */
  client?: SecretsManagerClient;
  region?: string;
  endpoint?: string;
  /** Per request. Default 5 seconds. */
  timeoutMs?: number;
}

/**
 * A loader of the signing tokens from Secrets Manager: DescribeSecret for the labels and tags, then
 * GetSecretValue for each labelled version needed. Needs secretsmanager:DescribeSecret and
 * GetSecretValue on the secret (and kms:Decrypt for a customer key), nothing else.
 */
export function secretsManagerSigningTokens(options: SecretsManagerSourceOptions): () => Promise<SigningTokens> {
  const timeoutMs = options.timeoutMs ?? 5000;
  let client = options.client;
  if (!client) {
    client = new SecretsManagerClient({
      ...(options.region ? { region: options.region } : {}),
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      maxAttempts: 2,
    });
    // A secret is at most 64 KiB: a larger answer is refused unread (util/bounded-body.ts).
    boundAnswers(client, MiB, 'Secrets Manager');
  }
  const sm = client;
  const within = () => ({ abortSignal: AbortSignal.timeout(timeoutMs) });
  return async () => {
    const described = await sm.send(new DescribeSecretCommand({ SecretId: options.secretId }), within());
    const tags = Object.fromEntries((described.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
    const versions = Object.entries(described.VersionIdsToStages ?? {});
    const stages = stagesOf(versions.map(([versionId, labels]) => ({ versionId, stages: labels })));
    // Only what signingTokensOf may use is fetched: a pending placeholder without a value is skipped.
    for (const stage of STAGES) {
      const entry = stages[stage];
      if (!entry) continue;
      try {
        const got = await sm.send(
          new GetSecretValueCommand({ SecretId: options.secretId, VersionId: entry.versionId }),
          within(),
        );
        if (got.SecretString !== undefined) entry.value = got.SecretString;
      } catch (err) {
        if (stage === 'AWSCURRENT') throw err;
      }
    }
    return signingTokensOf({ stages, tags }, options);
  };
}

/** A loader of the signing tokens from the rotator's file store (self-hosted runs). */
export function fileSigningTokens(
  options: SigningTokenOptions & { path: string; secretId: string },
): () => Promise<SigningTokens> {
  const store = fileStore(options.path);
  return async () => {
    const secret = await store.read(options.secretId);
    if (!secret) throw new Error(`the file store ${options.path} has no secret "${options.secretId}"`);
    return signingTokensOf({ stages: stagesOf(secret.versions), tags: secret.tags }, options);
  };
}

export interface WebhookValidatorOptions {
  load: () => Promise<SigningTokens>;
  /** Reload the tokens when the ones held are older than this. Default 60 seconds. */
  refreshMs?: number;
  /** While the current token held is one `rotate --now` is replacing, reload this often instead. Default 1 second. */
  leakedRefreshMs?: number;
  /** A signature that matches no token held triggers a reload, at most this often. Default 10 seconds. */
  minReloadMs?: number;
  now?: () => number;
}

export interface WebhookValidator {
  validate(request: WebhookRequest): Promise<WebhookVerdict>;
}

/**
 * Validates requests with tokens it loads and refreshes. A failed load keeps the tokens held (and is
 * retried on the next request); with none held yet, it throws, so the caller can answer 5xx and
 * Twilio retries, rather than refusing a genuine request.
 */
export function createWebhookValidator(options: WebhookValidatorOptions): WebhookValidator {
  const now = options.now ?? Date.now;
  const refreshMs = options.refreshMs ?? 60_000;
  const leakedRefreshMs = Math.min(refreshMs, options.leakedRefreshMs ?? 1000);
  const minReloadMs = options.minReloadMs ?? 10_000;
  let held: { tokens: SigningTokens; atMs: number } | undefined;
  let loading: Promise<SigningTokens> | undefined;
  let lastAttemptMs = -Infinity;

  const reload = async (): Promise<SigningTokens> => {
    lastAttemptMs = now();
    loading ??= options
      .load()
      .then((tokens) => ((held = { tokens, atMs: now() }), tokens))
      .finally(() => (loading = undefined));
    try {
      return await loading;
    } catch (err) {
      if (held) return held.tokens;
      throw err;
    }
  };

  return {
    async validate(request) {
      const every = held?.tokens.currentLeaked ? leakedRefreshMs : refreshMs;
      const tokens = !held || now() - held.atMs >= every ? await reload() : held.tokens;
      const verdict = validateTwilioWebhook(tokens, request);
      if (verdict.valid || !request.signature || now() - lastAttemptMs < minReloadMs) return verdict;
      return validateTwilioWebhook(await reload(), request);
    },
  };
}
