// Stands in for @aws-sdk/credential-provider-node's defaultProvider where the Secrets Manager client
// takes it (runtimeConfig.js), in the Lambda bundle. Lambda puts the function's credentials in the
// environment, so the chain's first link (fromEnv) always answers there: asked without a profile
// while AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set, this answers from the environment as that
// link does. Otherwise (a profile, or no credentials in the environment: off Lambda) it hands over to
// the whole chain, loaded then from chunks/, so nothing changes there.
import { ENV_KEY, ENV_SECRET, fromEnv } from '@aws-sdk/credential-provider-env';

export const defaultProvider = (init = {}) => {
  let chain;
  return async (properties) => {
    const profile = init.profile ?? process.env.AWS_PROFILE;
    if (!profile && process.env[ENV_KEY] && process.env[ENV_SECRET]) return fromEnv(init)();
    chain ??= import('@aws-sdk/credential-provider-node').then((m) => m.defaultProvider(init));
    return (await chain)(properties);
  };
};
