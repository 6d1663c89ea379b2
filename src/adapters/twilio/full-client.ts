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
  const client = twilio(credential.username, credential.password, {
    accountSid: credential.accountSid,
    httpClient: httpClientFor(http),
    env: {},
  });
  client.region = http.region;
  client.edge = http.edge;
  return client;
}

export type TwilioClient = ReturnType<typeof createTwilioClient>;
