import type { RestrictedPolicy, VerifyMethod } from '../../core/ports.js';

function grants(policy: RestrictedPolicy, permission: string): boolean {
  const wildcard = permission.replace(/\/[^/]+$/, '/*');
  return policy.allow.includes(permission) || policy.allow.includes(wildcard);
}

/**
 * How to prove a key works using only the key. A Standard key reads IncomingPhoneNumbers (it may not
 * touch /Accounts or /Keys). A Restricted key can only be proven with something its policy grants;
 * `undefined` means nothing we know of, so a validation URL is required.
 */
export function verifyMethodFor(policy: RestrictedPolicy | null, validationUrl?: string): VerifyMethod | undefined {
  if (validationUrl !== undefined) return { kind: 'url', url: validationUrl };
  if (policy === null) return { kind: 'list-incoming-phone-numbers' };
  if (grants(policy, '/twilio/numbers/incoming-phone-numbers/list')) return { kind: 'list-incoming-phone-numbers' };
  if (grants(policy, '/twilio/messaging/messages/list')) return { kind: 'list-messages' };
  if (grants(policy, '/twilio/iam/api-keys/read')) return { kind: 'fetch-own-key' };
  return undefined;
}

export function describeVerifyMethod(method: VerifyMethod): string {
  switch (method.kind) {
    case 'list-incoming-phone-numbers':
      return 'GET IncomingPhoneNumbers (PageSize=1) with the key';
    case 'list-messages':
      return 'GET Messages (PageSize=1) with the key';
    case 'fetch-own-key':
      return 'GET /v1/Keys/<its own SID> with the key';
    case 'url':
      return `GET ${method.url} with the key`;
  }
}
