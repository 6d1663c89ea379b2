import type { SecretReadEvent } from '../../core/reads.js';

/**
 * One CloudTrail record (LookupEvents' `CloudTrailEvent`, a JSON string) of a GetSecretValue call,
 * reduced to what the gate uses. The record never holds the secret: GetSecretValue's
 * responseElements are null in CloudTrail.
 */

interface Identity {
  type?: string;
  arn?: string;
  principalId?: string;
  accessKeyId?: string;
  invokedBy?: string;
  sessionContext?: { sessionIssuer?: { arn?: string } };
}

interface Record_ {
  eventTime?: string;
  eventName?: string;
  errorCode?: string;
  userIdentity?: Identity;
  requestParameters?: { secretId?: unknown; versionId?: unknown; versionStage?: unknown } | null;
  resources?: { type?: string; ARN?: string }[];
}

export interface ParsedRead extends SecretReadEvent {
  eventId: string;
  /** Secret ARNs the event names (resources), and the SecretId as the caller wrote it. */
  secretArns: string[];
  secretIdAsked?: string;
}

/**
 * Who read: an assumed role counts as its role (a Lambda's or a task's session name changes with
 * every cold start; the role is what stays), an IAM user as itself, an AWS service by its name.
 */
function principalOf(id: Identity): { principal: string; sessionArn?: string } {
  const issuer = id.sessionContext?.sessionIssuer?.arn;
  if (id.type === 'AssumedRole' && issuer) return { principal: issuer, ...(id.arn ? { sessionArn: id.arn } : {}) };
  if (id.arn) return { principal: id.arn };
  if (id.invokedBy) return { principal: `service:${id.invokedBy}` };
  return { principal: `${id.type ?? 'unknown'}:${id.principalId ?? id.accessKeyId ?? 'unknown'}` };
}

const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);

export function parseRead(eventId: string, json: string | undefined, fallbackAtMs: number): ParsedRead | undefined {
  let record: Record_;
  try {
    record = JSON.parse(json ?? '') as Record_;
  } catch {
    return undefined;
  }
  if (typeof record !== 'object' || record === null || record.eventName !== 'GetSecretValue') return undefined;
  const atMs = record.eventTime ? Date.parse(record.eventTime) : fallbackAtMs;
  const params = record.requestParameters ?? {};
  const versionId = str(params.versionId);
  const versionStage = str(params.versionStage);
  const secretIdAsked = str(params.secretId);
  return {
    eventId,
    ...principalOf(record.userIdentity ?? {}),
    atMs: Number.isFinite(atMs) ? atMs : fallbackAtMs,
    ...(versionId ? { versionId } : {}),
    ...(versionStage ? { versionStage } : {}),
    failed: record.errorCode !== undefined,
    secretArns: (record.resources ?? [])
      .filter((r) => r.type === 'AWS::SecretsManager::Secret' && typeof r.ARN === 'string')
      .map((r) => r.ARN!),
    ...(secretIdAsked ? { secretIdAsked } : {}),
  };
}

/**
 * Is the read about this secret? By the ARN in its resources when it names one (a secret deleted and
 * made again under the same name has another ARN); otherwise by the SecretId asked for: the ARN, the
 * ARN without its six-character suffix, or the name (names are unique in an account and Region).
 */
export function isAbout(read: ParsedRead, secret: { arn: string; name: string }): boolean {
  if (read.secretArns.length > 0) return read.secretArns.includes(secret.arn);
  const asked = read.secretIdAsked;
  return asked === secret.arn || asked === secret.arn.slice(0, -7) || asked === secret.name;
}
