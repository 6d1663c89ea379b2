#!/usr/bin/env node
// Vendors the parts of Twilio's official OpenAPI definitions that the emulator serves.
//
//   node scripts/vendor-twilio-specs.mjs            # npm pack @twilio/cli-core@9.0.0 into a temp dir
//   node scripts/vendor-twilio-specs.mjs <dir>      # or read an unpacked package/src/services/twilio-api
//
// Each spec is trimmed to the operations we emulate plus every component they reference
// (transitively), and test/fixtures/twilio-openapi/manifest.json records where the originals came
// from and their sha256, so the fixture can be checked against and refreshed from the source.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PACKAGE = '@twilio/cli-core@9.0.0';
const OUT = join(import.meta.dirname, '..', 'test', 'fixtures', 'twilio-openapi');

const KEEP = {
  // OAuth apps: the definitions hold create, update and delete only; fetch and list are in Twilio's
  // reference page alone (docs/oauth-apps.md), so the contract test exercises those without Prism.
  'twilio_iam_v1.json': {
    '/v1/Keys': ['get', 'post'],
    '/v1/Keys/{Sid}': ['get', 'post', 'delete'],
    '/v1/Account/OAuthApps': ['post'],
    '/v1/Account/OAuthApps/{sid}': ['put', 'delete'],
  },
  'twilio_oauth_v2.json': { '/v2/token': ['post'] },
  'twilio_accounts_v1.json': { '/v1/AuthTokens/Promote': ['post'], '/v1/AuthTokens/Secondary': ['post', 'delete'] },
  'twilio_api_v2010.json': {
    '/2010-04-01/Accounts/{AccountSid}/Keys.json': ['get', 'post'],
    '/2010-04-01/Accounts/{AccountSid}/Keys/{Sid}.json': ['get', 'delete'],
    '/2010-04-01/Accounts.json': ['get', 'post'],
    '/2010-04-01/Accounts/{Sid}.json': ['get', 'post'],
    '/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json': ['get'],
    '/2010-04-01/Accounts/{AccountSid}/Messages.json': ['get'],
  },
};

function sourceDir() {
  if (process.argv[2]) return process.argv[2];
  const dir = mkdtempSync(join(tmpdir(), 'twilio-cli-core-'));
  // --ignore-scripts: 9.0.0 added a postinstall hook; we only want the files, never its code run.
  const tgz = execFileSync('npm', ['pack', PACKAGE, '--silent', '--ignore-scripts'], { cwd: dir, encoding: 'utf8' })
    .trim()
    .split('\n')
    .pop();
  execFileSync('tar', ['xzf', tgz], { cwd: dir });
  return join(dir, 'package', 'src', 'services', 'twilio-api');
}

function refsIn(node, out) {
  if (Array.isArray(node)) node.forEach((n) => refsIn(n, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.add(v);
      else refsIn(v, out);
    }
  }
  return out;
}

/**
 * Errata: places where the definition is stricter than the service. Each is applied to the trimmed
 * copy and listed in the manifest, so the contract test checks Twilio's real behaviour, not a typo.
 */
const PAGING_FIELDS = new Set(['first_page_uri', 'next_page_uri', 'previous_page_uri', 'uri']);
function applyErrata(node, errata, path = '') {
  if (Array.isArray(node)) return node.forEach((n, i) => applyErrata(n, errata, `${path}/${i}`));
  if (!node || typeof node !== 'object') return;
  if (node.type === 'object' && node.properties && 'first_page_uri' in node.properties) {
    for (const [name, prop] of Object.entries(node.properties)) {
      if (PAGING_FIELDS.has(name) && prop.format === 'uri') {
        prop.format = 'uri-reference';
        errata.push(
          `${path}/properties/${name}: format uri -> uri-reference (2010 list pages carry relative ` +
            `URIs such as "/2010-04-01/Accounts/AC…/Keys.json?PageSize=50&Page=0")`,
        );
      }
    }
  }
  for (const [k, v] of Object.entries(node)) applyErrata(v, errata, `${path}/${k}`);
}

function trim(spec, keep) {
  const paths = {};
  for (const [path, methods] of Object.entries(keep)) {
    const item = spec.paths[path];
    if (!item) throw new Error(`path ${path} is missing from the spec`);
    const kept = Object.fromEntries(
      Object.entries(item).filter(
        ([k]) => !['get', 'post', 'put', 'delete', 'patch'].includes(k) || methods.includes(k),
      ),
    );
    for (const m of methods) if (!kept[m]) throw new Error(`${m.toUpperCase()} ${path} is missing from the spec`);
    paths[path] = kept;
  }
  const components = {};
  const pending = [...refsIn(paths, new Set())];
  const seen = new Set();
  while (pending.length) {
    const ref = pending.pop();
    if (seen.has(ref)) continue;
    seen.add(ref);
    const [, section, name] = /^#\/components\/([^/]+)\/(.+)$/.exec(ref) ?? [];
    if (!section) throw new Error(`unsupported $ref ${ref}`);
    const target = spec.components?.[section]?.[name];
    if (target === undefined) throw new Error(`dangling $ref ${ref}`);
    (components[section] ??= {})[name] = target;
    pending.push(...refsIn(target, new Set()));
  }
  if (spec.components?.securitySchemes) components.securitySchemes = spec.components.securitySchemes;
  return { openapi: spec.openapi, info: spec.info, servers: spec.servers, security: spec.security, paths, components };
}

const dir = sourceDir();
mkdirSync(OUT, { recursive: true });
const manifest = { source: PACKAGE, directory: 'src/services/twilio-api', files: {} };
for (const [file, keep] of Object.entries(KEEP)) {
  const raw = readFileSync(join(dir, file));
  const trimmed = trim(JSON.parse(raw.toString('utf8')), keep);
  const errata = [];
  applyErrata(trimmed.paths, errata, '#/paths');
  writeFileSync(join(OUT, file), `${JSON.stringify(trimmed, null, 2)}\n`);
  manifest.files[file] = {
    sha256: createHash('sha256').update(raw).digest('hex'),
    bytes: raw.length,
    operations: Object.entries(keep).flatMap(([p, ms]) => ms.map((m) => `${m.toUpperCase()} ${p}`)),
    errata,
  };
}
writeFileSync(join(OUT, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`wrote ${Object.keys(KEEP).length} trimmed specs to ${OUT}`);
