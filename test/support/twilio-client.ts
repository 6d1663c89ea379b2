import twilio from 'twilio';
import { httpClientFor, type TwilioCredential, type TwilioHttpOptions } from '../../src/adapters/twilio/http-client.js';

/**
 * The complete twilio-node client behind the rotator's routing switch, for tests that act as a consumer
 * or a person would. The rotator itself uses src/adapters/twilio/slim-client.ts.
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
