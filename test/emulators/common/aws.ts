import type { IncomingMessage } from 'node:http';

/**
 * The access key id from a SigV4 `Authorization` header (`Credential=AKID/date/region/service/aws4_request`).
 * Emulators do not check signatures; this is what their request logs record as the credential.
 */
export function accessKeyOf(req: IncomingMessage): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(req.headers.authorization ?? '')?.[1];
}
