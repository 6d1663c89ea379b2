// Stands in for the IAM v1 resources twilio-node's rest/iam/V1.js requires but the rotator never
// uses (OAuth apps, role permissions, tokens: src/adapters/twilio/oauth-apps.ts calls those endpoints
// through request()), in the Lambda bundle. V1 builds each resource on first use only; using one
// throws, naming this file.
module.exports = new Proxy(
  {},
  {
    get: (_, name) =>
      name === '__esModule'
        ? undefined
        : () => {
            throw new Error(
              `twilio-node's ${String(name)} is not in the twilio-key-rotator Lambda bundle ` +
                '(scripts/twilio-unused-resource-stub.cjs): the rotator does not use it',
            );
          },
  },
);
