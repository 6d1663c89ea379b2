import { randomUUID } from 'node:crypto';
import type { SecretRead } from '../secrets-manager/index.js';

/**
 * A management event as CloudTrail stores it, and its two faces: the record (CloudTrailEvent, a JSON
 * string) and the LookupEvents summary (EventId, EventName, Username, Resources, ...). The record's
 * fields follow the CloudTrail record contents reference: userIdentity (type, principalId, arn,
 * accountId, accessKeyId, and for an assumed role sessionContext.sessionIssuer), eventTime (ISO 8601,
 * second resolution), eventSource, eventName, awsRegion, requestParameters, errorCode, readOnly,
 * resources [{accountId, type, ARN}], eventType AwsApiCall, managementEvent, eventCategory Management.
 */

export interface StoredEvent {
  eventId: string;
  eventTimeMs: number;
  eventName: string;
  eventSource: string;
  accessKeyId?: string;
  username?: string;
  readOnly: boolean;
  resources: { type: string; arn: string }[];
  record: Record<string, unknown>;
}

const SECRET_TYPE = 'AWS::SecretsManager::Secret';

/** The identity CloudTrail writes for a principal ARN: an IAM user, an assumed role's session, or the root. */
export function userIdentity(principalArn: string, accountId: string, accessKeyId: string | undefined) {
  const key = accessKeyId ? { accessKeyId } : {};
  const assumed = /^arn:aws:sts::(\d{12}):assumed-role\/([^/]+)\/(.+)$/.exec(principalArn);
  if (assumed) {
    const [, account = accountId, role = '', session = ''] = assumed;
    const roleId = `AROA${role
      .toUpperCase()
      .replace(/[^A-Z0-9]/g, '')
      .padEnd(17, 'X')
      .slice(0, 17)}`;
    return {
      username: session,
      identity: {
        type: 'AssumedRole',
        principalId: `${roleId}:${session}`,
        arn: principalArn,
        accountId: account,
        ...key,
        sessionContext: {
          sessionIssuer: {
            type: 'Role',
            principalId: roleId,
            arn: `arn:aws:iam::${account}:role/${role}`,
            accountId: account,
            userName: role,
          },
          attributes: { mfaAuthenticated: 'false' },
        },
      },
    };
  }
  const user = /^arn:aws:iam::(\d{12}):user\/(?:.*\/)?([^/]+)$/.exec(principalArn);
  const name = user?.[2] ?? 'root';
  return {
    username: name,
    identity: {
      type: user ? 'IAMUser' : 'Root',
      principalId: `AIDA${name
        .toUpperCase()
        .replace(/[^A-Z0-9]/g, '')
        .padEnd(17, 'X')
        .slice(0, 17)}`,
      arn: principalArn,
      accountId: user?.[1] ?? accountId,
      ...key,
      ...(user ? { userName: name } : {}),
    },
  };
}

/** A GetSecretValue call of the Secrets Manager emulator, as the management event CloudTrail records. */
export function secretReadEvent(read: SecretRead, principalArn: string): StoredEvent {
  const { username, identity } = userIdentity(principalArn, read.accountId, read.accessKeyId);
  const eventId = randomUUID();
  const resources = read.secretArn ? [{ type: SECRET_TYPE, arn: read.secretArn }] : [];
  const record = {
    eventVersion: '1.09',
    userIdentity: identity,
    eventTime: new Date(Math.floor(read.atMs / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
    eventSource: 'secretsmanager.amazonaws.com',
    eventName: 'GetSecretValue',
    awsRegion: read.region,
    sourceIPAddress: '127.0.0.1',
    userAgent: 'aws-sdk-js',
    requestParameters: { ...read.requestParameters },
    responseElements: null,
    ...(read.errorCode ? { errorCode: read.errorCode, errorMessage: `${read.errorCode} (emulated)` } : {}),
    requestID: randomUUID(),
    eventID: eventId,
    readOnly: true,
    resources: resources.map((r) => ({ accountId: read.accountId, type: r.type, ARN: r.arn })),
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: read.accountId,
    eventCategory: 'Management',
  };
  return {
    eventId,
    eventTimeMs: Math.floor(read.atMs / 1000) * 1000,
    eventName: 'GetSecretValue',
    eventSource: 'secretsmanager.amazonaws.com',
    ...(read.accessKeyId ? { accessKeyId: read.accessKeyId } : {}),
    username,
    readOnly: true,
    resources,
    record,
  };
}

/** The LookupEvents `Event` of a stored event; EventTime in epoch seconds (JSON 1.1 timestamps). */
export function summary(e: StoredEvent): Record<string, unknown> {
  return {
    EventId: e.eventId,
    EventName: e.eventName,
    ReadOnly: String(e.readOnly),
    ...(e.accessKeyId ? { AccessKeyId: e.accessKeyId } : {}),
    EventTime: e.eventTimeMs / 1000,
    EventSource: e.eventSource,
    ...(e.username ? { Username: e.username } : {}),
    Resources: e.resources.map((r) => ({ ResourceType: r.type, ResourceName: r.arn })),
    CloudTrailEvent: JSON.stringify(e.record),
  };
}

/** Does the event match the one lookup attribute (API_LookupAttribute: keys and what each compares)? */
export function matches(e: StoredEvent, key: string, value: string): boolean {
  switch (key) {
    case 'EventId':
      return e.eventId === value;
    case 'EventName':
      return e.eventName === value;
    case 'ReadOnly':
      return String(e.readOnly) === value;
    case 'Username':
      return e.username === value;
    case 'ResourceType':
      return e.resources.some((r) => r.type === value);
    case 'ResourceName':
      return e.resources.some((r) => r.arn === value);
    case 'EventSource':
      return e.eventSource === value;
    case 'AccessKeyId':
      return e.accessKeyId === value;
    default:
      return false;
  }
}

export const ATTRIBUTE_KEYS = [
  'EventId',
  'EventName',
  'ReadOnly',
  'Username',
  'ResourceType',
  'ResourceName',
  'EventSource',
  'AccessKeyId',
];
