import BaseTwilio from 'twilio/lib/base/BaseTwilio.js';
import Iam from 'twilio/lib/rest/Iam.js';
import { httpClientFor, type TwilioCredential, type TwilioHttpOptions } from './http-client.js';

/**
 * The rotator's Twilio client: twilio-node's own request, auth, region and error handling, with
 * only the IAM domain attached. `twilio()` would pull every product (about 3.7 MB bundled) into
 * the Lambda; this keeps the bundle to what the rotator calls. Verification reads go through
 * `request()` directly, so the large 2010 API domain is not needed either.
 */
export class SlimTwilio extends BaseTwilio.Client {
  private iamDomain: Iam | undefined;

  get iam(): Iam {
    // Iam's constructor is typed against the full Twilio class; it only uses request().
    return (this.iamDomain ??= new Iam(this));
  }
}

/** `where`: the target's Twilio region and edge; omitted means US1. */
export function createSlimClient(
  credential: TwilioCredential,
  http: TwilioHttpOptions = {},
  where: { region?: string | undefined; edge?: string | undefined } = {},
): SlimTwilio {
  const client = new SlimTwilio(credential.username, credential.password, {
    accountSid: credential.accountSid,
    httpClient: httpClientFor(http, credential.accountSid),
    // Never fall back to TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN from the environment.
    env: {},
  });
  // twilio-node reads TWILIO_REGION / TWILIO_EDGE from process.env when no region is given; the
  // configuration is the only source here, so an unset region means US1 whatever the environment says.
  client.region = where.region;
  client.edge = where.edge;
  return client;
}
