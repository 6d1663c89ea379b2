// serverless.yml's view of the rotator's configuration: the functions' environment and the role's
// IAM statements, derived by scripts/deploy-config.ts with the rotator's own config loader.
//   TWILIO_KEY_ROTATOR_CONFIG  configuration to read (default config/rotator.yaml, the one the build
//                              compiles); ROTATOR_CONFIG_FILE, its old name, still works with a warning
//   ROTATOR_KMS_KEY_ARN   a customer-managed KMS key the secrets use (adds kms:Decrypt/GenerateDataKey)
// and checks the params (sharding: serverless.yml custom.shardParams, README "Sharding a large fleet
// across invocations"; architecture).
// serverless.yml reads everything through one variable, custom.deploy (`facts` below): a problem is
// then one error, which osls prints once, instead of once for each place that uses what it derives.
// osls loads this file as CommonJS; the TypeScript is bundled in memory with esbuild (a dev
// dependency, like osls itself) and evaluated once per osls run.
const { buildSync } = require('esbuild');
const Module = require('node:module');
const { join } = require('node:path');
const { deployConfigFile } = require('./config-fingerprint.cjs');

const root = join(__dirname, '..');
let facts;

function deployModule() {
  const entry = join(__dirname, 'deploy-config.ts');
  const { outputFiles } = buildSync({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // node-cron's ESM build locates itself with import.meta.url, which a CommonJS bundle lacks: let
    // require() load its CommonJS build instead.
    external: ['node-cron'],
    write: false,
    logLevel: 'silent',
  });
  const loaded = new Module(entry, module);
  loaded.filename = entry;
  loaded.paths = Module._nodeModulePaths(__dirname);
  loaded._compile(outputFiles[0].text, entry);
  return loaded.exports;
}

let loaded;
const deploy = () => (loaded ??= deployModule());

// osls calls this in more than one pass, and an early pass may lack what a param needs: a failure
// is not kept, so the next pass derives again.
function derive(resolveVariable) {
  if (facts) return facts;
  const derived = (async () => {
    const [shardParams, architecture, region] = await Promise.all([
      resolveVariable('self:custom.shardParams'),
      resolveVariable('self:custom.architecture'),
      resolveVariable('self:provider.region'),
    ]);
    return deploy().stackFacts({
      configFile: deployConfigFile(root),
      env: process.env,
      region,
      ...(process.env.ROTATOR_KMS_KEY_ARN ? { kmsKeyArn: process.env.ROTATOR_KMS_KEY_ARN } : {}),
      params: { ...shardParams, architecture },
    });
  })();
  facts = derived;
  derived.catch(() => {
    if (facts === derived) facts = undefined;
  });
  return derived;
}

/**
 * Everything serverless.yml derives, as custom.deploy: environment, scheduledEnvironment, statements,
 * sharding ('on' or 'off') and architecture.
 */
module.exports.facts = ({ resolveVariable }) => derive(resolveVariable);
