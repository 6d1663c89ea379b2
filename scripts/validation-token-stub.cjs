// Stands in for twilio/lib/jwt/validation/ValidationToken in the Lambda bundle. twilio-node loads
// it (and with it jsonwebtoken, jws and semver) for "public key client validation", which only
// runs when a client is built with `validationClient`; the rotator never does.
class ValidationToken {
  constructor() {
    throw new Error('public key client validation is not included in the twilio-key-rotator Lambda bundle');
  }
}
module.exports = ValidationToken;
module.exports.default = ValidationToken;
