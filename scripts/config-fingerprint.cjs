// Which configuration a Lambda bundle was built from, so that packaging can refuse a stale one.
// scripts/build-lambda.mjs compiles config/rotator.yaml into dist/lambda and writes its fingerprint
// beside it; scripts/serverless-bundle-check.cjs (an osls plugin) compares it with the configuration
// serverless.yml derives the role's policy and the functions' environment from. A bundle built from
// another configuration would ask for other secrets than the role may touch: AccessDenied on every run.
const { createHash } = require('node:crypto');
const { existsSync, readFileSync } = require('node:fs');
const { join, relative, resolve } = require('node:path');
const { CORE_SCHEMA, load } = require('js-yaml');

/** Beside the bundle in dist/lambda, and not packaged (serverless.yml's patterns name what is). */
const FINGERPRINT_FILE = 'config-fingerprint.json';

/**
 * The configuration to deploy: TWILIO_KEY_ROTATOR_CONFIG, as for the CLI. ROTATOR_CONFIG_FILE, its old
 * name here, still works for a release, with a warning.
 */
function deployConfigFile(root, env = process.env) {
  const { TWILIO_KEY_ROTATOR_CONFIG: chosen, ROTATOR_CONFIG_FILE: old } = env;
  if (old) {
    const why = 'ROTATOR_CONFIG_FILE is deprecated and will be removed in the next release';
    const what = chosen ? ' (ignored: TWILIO_KEY_ROTATOR_CONFIG is set)' : '; set TWILIO_KEY_ROTATOR_CONFIG instead';
    process.stderr.write(`twilio-key-rotator: warning: ${why}${what}\n`);
  }
  return resolve(root, chosen || old || 'config/rotator.yaml');
}

/**
 * The configuration as the bundle holds it: parsed with the CLI's parser and schema, as JSON. Comments
 * and layout do not count; ${NAME} references count as written (the Lambda substitutes them at start).
 */
const compiledConfig = (file) => JSON.stringify(load(readFileSync(file, 'utf8'), { schema: CORE_SCHEMA }));

/** A path as messages show it: relative to the checkout when inside it. */
const shownPath = (root, p) => (relative(root, p).startsWith('..') ? p : relative(root, p));

const fingerprint = (json) => createHash('sha256').update(json).digest('hex');

/** What is wrong with `dir` (dist/lambda) as the bundle of `configFile`, in words; undefined when nothing. */
function bundleProblem(root, dir, configFile) {
  const shown = (p) => shownPath(root, p);
  const config = shown(configFile);
  const build = `npm run build:lambda${config === 'config/rotator.yaml' ? '' : ` -- --config ${config}`}`;
  if (!existsSync(join(dir, 'handler.mjs')))
    return `${shown(dir)}/handler.mjs does not exist: run ${build} first (it compiles ${config} into the bundle)`;
  let built;
  try {
    built = JSON.parse(readFileSync(join(dir, FINGERPRINT_FILE), 'utf8'));
  } catch {
    return `${shown(dir)} does not say which configuration it was built from (no ${FINGERPRINT_FILE}): run ${build}`;
  }
  if (built.sha256 === fingerprint(compiledConfig(configFile))) return undefined;
  const what =
    built.config === config
      ? `${config} changed since ${shown(dir)} was built`
      : `${shown(dir)} was built from ${built.config}, not from ${config}`;
  const derived = `the role's policy and the functions' environment come from ${config}`;
  const why = `${derived}, so the bundle would ask for secrets the role may not touch (AccessDenied on every run)`;
  return `${what}: ${why}. Run ${build} and package again.`;
}

module.exports = { FINGERPRINT_FILE, bundleProblem, compiledConfig, deployConfigFile, fingerprint, shownPath };
