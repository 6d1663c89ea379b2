export { createTwilioClient, RoutedRequestClient } from './http-client.js';
export type { TwilioBaseUrl, TwilioClient, TwilioCredential, TwilioHttpOptions } from './http-client.js';
export { twilioKeys, twilioVerifier } from './keys.js';
export type { TwilioAdapterOptions, TwilioTarget } from './keys.js';
