export { formEncode, httpClientFor, TwilioHttpClient } from './http-client.js';
export type { TwilioBaseUrl, TwilioCredential, TwilioHttpOptions } from './http-client.js';
export { createSlimClient, SlimTwilio } from './slim-client.js';
export { createTwilioClient } from './full-client.js';
export type { TwilioClient } from './full-client.js';
export { twilioKeys, twilioVerifier } from './keys.js';
export type { TwilioAdapterOptions, TwilioTarget } from './keys.js';
