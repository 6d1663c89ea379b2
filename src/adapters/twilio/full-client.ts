import twilio from 'twilio';
import { httpClientFor, type TwilioCredential, type TwilioHttpOptions } from './http-client.js';

/**
 * The complete twilio-node client behind the same routing switch, for tests, the sandbox and
 * users who point their own code at the emulator. The rotator itself uses ./slim-client.ts.
 */
export function createTwilioClient(
  credential: TwilioCredential,
  http: TwilioHttpOptions & { region?: string; edge?: string } = {},
) {
  return twilio(credential.username, credential.password, {
    accountSid: credential.accountSid,
    httpClient: httpClientFor(http),
    env: {},
    ...(http.region ? { region: http.region } : {}),
    ...(http.edge ? { edge: http.edge } : {}),
  });
}

export type TwilioClient = ReturnType<typeof createTwilioClient>;
