// Stands in for twilio/lib/base/RequestClient in the Lambda bundle. twilio-node's BaseTwilio loads
// it (and with it axios, form-data and the JWT stack) as the fallback for clients built without an
// `httpClient`; the rotator always passes its own (src/adapters/twilio/http-client.ts).
class RequestClient {
  constructor() {
    throw new Error(
      "twilio-node's default RequestClient is not in the twilio-key-rotator Lambda " +
        'bundle: pass httpClient (see src/adapters/twilio/http-client.ts)',
    );
  }
}
module.exports = RequestClient;
module.exports.default = RequestClient;
