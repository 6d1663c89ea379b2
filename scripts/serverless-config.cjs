// serverless.yml's view of the rotator's configuration: the functions' environment and the role's
// IAM statements, derived by scripts/deploy-config.ts with the rotator's own config loader.
//   TWILIO_KEY_ROTATOR_CONFIG  configuration to read (default config/rotator.yaml, the one the build
//                              compiles); ROTATOR_CONFIG_FILE, its old name, still works with a warning
//   ROTATOR_KMS_KEY_ARN   a customer-managed KMS key the secrets use (adds kms:Decrypt/GenerateDataKey)
// and checks the sharding params (serverless.yml custom.shardParams; README "Sharding a large fleet
// across invocations").
// osls loads this file as CommonJS; the TypeScript is bundled in memory with esbuild (a dev
// dependency, like osls itself) and evaluated once per osls run.
const { buildSync } = require('esbuild');
const Module = require('node:module');
const { join, resolve } = require('node:path');

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

/** TWILIO_KEY_ROTATOR_CONFIG, as for the CLI; ROTATOR_CONFIG_FILE is deprecated (src/config/load.ts). */
function configFile() {
  const { TWILIO_KEY_ROTATOR_CONFIG: chosen, ROTATOR_CONFIG_FILE: old } = process.env;
  if (old) {
    const why =
      'ROTATOR_CONFIG_FILE is deprecated and will be removed in the next release; set TWILIO_KEY_ROTATOR_CONFIG instead';
    process.stderr.write(
      `twilio-key-rotator: warning: ${why}${chosen ? ' (ignored: TWILIO_KEY_ROTATOR_CONFIG is set)' : ''}\n`,
    );
  }
  return chosen || old || 'config/rotator.yaml';
}

let loaded;
const deploy = () => (loaded ??= deployModule());

const shardParams = async (resolveVariable) =>
  deploy().shardingOptions(await resolveVariable('self:custom.shardParams'));

// osls calls these in more than one pass, and an early pass may lack what a param needs: a failure
// is not kept, so the next pass derives again.
function derive(resolveVariable) {
  if (facts) return facts;
  const derived = (async () => {
    const sharding = await shardParams(resolveVariable);
    return deploy().deployFacts({
      configFile: resolve(root, configFile()),
      env: process.env,
      region: await resolveVariable('self:provider.region'),
      ...(process.env.ROTATOR_KMS_KEY_ARN ? { kmsKeyArn: process.env.ROTATOR_KMS_KEY_ARN } : {}),
      ...(sharding ? { sharding } : {}),
    });
  })();
  facts = derived;
  derived.catch(() => {
    if (facts === derived) facts = undefined;
  });
  return derived;
}

module.exports.environment = async ({ resolveVariable }) => (await derive(resolveVariable)).environment;
module.exports.scheduledEnvironment = async ({ resolveVariable }) =>
  (await derive(resolveVariable)).scheduledEnvironment;
module.exports.statements = async ({ resolveVariable }) => (await derive(resolveVariable)).statements;
module.exports.sharding = async ({ resolveVariable }) => ((await shardParams(resolveVariable)) ? 'on' : 'off');
