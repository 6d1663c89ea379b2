#!/usr/bin/env node
// Builds the Lambda handler bundle: dist/lambda/handler.mjs plus dist/lambda/chunks/ (ESM,
// minified, source maps), with config/rotator.yaml compiled in.
//   node scripts/build-lambda.mjs [--config path] [--metafile]
//
// The twilio package stays a dependency, but only the parts the rotator uses are reachable from
// src/entry/lambda.ts (see src/adapters/twilio/slim-client.ts), so only those are bundled. Four
// build choices keep start-up lean without moving work to later (README "Cold start"):
//  - ESM builds of the AWS SDK (mainFields module-first), so unused exports are dropped;
//  - code splitting, so what the SDK itself loads with import() only when needed (the SSO, ini,
//    process, web-identity and instance-metadata credential providers; on Lambda the environment
//    provider answers first) stays in chunks/ and is never read on Lambda;
//  - twilio-node's default HTTP client (axios) is not bundled: the rotator always hands twilio-node
//    its own (src/adapters/twilio/http-client.ts), so BaseTwilio's fallback is replaced by a stub;
//  - winston's readable-stream (a copy of Node 10's streams) resolves to node:stream, which
//    node:http loads anyway.
// The Lambda's bundle also leaves out what no invoked path uses (lambdaOnly(): stand-ins, barrels
// bypassed, the validation's own schema modules) and puts start-up in one file (oneStartUpFile()).
import { build } from 'esbuild';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { builtinModules } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CORE_SCHEMA, load } from 'js-yaml';
import fingerprints from './config-fingerprint.cjs';

const { FINGERPRINT_FILE, fingerprint, shownPath } = fingerprints;

const root = join(import.meta.dirname, '..');

/** Replaces modules whose import path matches `filter`, imported from `from`, with a stub from scripts/. */
function stub(filter, from, file) {
  return {
    name: `stub:${file}`,
    setup(b) {
      b.onResolve({ filter }, (args) => (from.test(args.importer) ? { path: join(root, 'scripts', file) } : undefined));
    },
  };
}

/**
 * Resolves each package path in `modules` to the given CommonJS source instead. Used for
 * readable-stream: winston and winston-transport import that copy of Node 10's streams, while
 * node:stream (loaded anyway by node:http) offers the same classes; bundling both costs start-up.
 */
function replace(modules) {
  return {
    name: 'replace',
    setup(b) {
      const filter = new RegExp(
        `^(${Object.keys(modules)
          .map((m) => m.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
          .join('|')})$`,
      );
      b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'replace' }));
      b.onLoad({ filter: /.*/, namespace: 'replace' }, (args) => ({ contents: modules[args.path], loader: 'js' }));
    },
  };
}

/**
 * Node built-ins reach the bundle through require(), never through an ESM import. An ESM import of a
 * built-in makes Node build a namespace of all its exports, which evaluates every lazy getter: on
 * Node 22, `import http from 'node:http'` runs http.WebSocket's getter and so loads undici (with tls,
 * http2, webstreams, worker_threads: ~60 ms), and `node:util`, `node:fs` and `node:crypto` load
 * parts they keep lazy under require(). The handler uses none of those parts; require() leaves the
 * getters alone. (Node 20's http has no such getter, which is why the same bundle did well there.)
 */
function builtinsViaRequire() {
  const names = builtinModules.filter((m) => !m.startsWith('_')).map((m) => m.replace(/[/]/g, '\\/'));
  const filter = new RegExp(`^(node:)?(${names.join('|')})$`);
  return {
    name: 'builtins-via-require',
    setup(b) {
      b.onResolve({ filter }, (args) => {
        const name = args.path.replace(/^node:/, '');
        // The module below and CommonJS code already require(). A dynamic import() stays as written:
        // made a require() it would cost a chunk of its own, and the SDK's one (of node:http) runs
        // only for plain-HTTP endpoints, never on Lambda.
        if (args.kind !== 'import-statement') return { path: `node:${name}`, external: true };
        return { path: name, namespace: 'builtin-require' };
      });
      b.onLoad({ filter: /.*/, namespace: 'builtin-require' }, (args) => ({
        contents: `module.exports = require('node:${args.path}');`,
        loader: 'js',
      }));
    },
  };
}

/**
 * Points imports at a narrower module than the one named, for importers matching `from`: code that
 * would otherwise be compiled at start-up for nothing. Each entry: [specifier, importer, target].
 */
function redirect(entries) {
  return {
    name: 'redirect',
    setup(b) {
      for (const [specifier, from, target] of entries) {
        const filter = new RegExp(`^${specifier.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`);
        b.onResolve({ filter }, (args) => (from.test(args.importer) ? { path: join(root, target) } : undefined));
      }
    },
  };
}

/**
 * The AWS SDK's modules import each other through barrels (index.js files that re-export, such as
 * `@smithy/core/protocols`); this points each such import straight at the modules that define the
 * names it takes. esbuild splits code by file: every module a barrel re-exports that some chunk uses
 * goes where the barrel goes. The credential providers' STS and SSO clients (lazy chunks) use the
 * REST, query and XML protocols through the barrels the Secrets Manager client uses too, so all of
 * that was read at start-up. The modules themselves are the same (one instance each).
 */
function throughBarrels() {
  const LINE = /^(import|export) \{([^}]*)\} from "([^"]+)";$/;
  const barrels = new Map();
  /** A barrel's re-exports: exported name → [absolute module path, its name there]. */
  const reexports = async (b, file) => {
    if (!barrels.has(file))
      barrels.set(
        file,
        (async () => {
          const names = new Map();
          for (const line of readFileSync(file, 'utf8').split('\n')) {
            const m = LINE.exec(line);
            if (m?.[1] !== 'export') continue;
            const from = await b.resolve(m[3], { kind: 'import-statement', resolveDir: dirname(file) });
            if (from.errors.length > 0 || from.namespace !== 'file' || from.external) continue;
            for (const spec of m[2]
              .split(',')
              .map((x) => x.trim())
              .filter(Boolean)) {
              const [name, as = name] = spec.split(/\s+as\s+/);
              // A barrel re-exporting another barrel: followed to the module that defines the name.
              const inner = /[\\/]index\.js$/.test(from.path) ? (await reexports(b, from.path)).get(name) : undefined;
              names.set(as, inner ?? [from.path, name]);
            }
          }
          return names;
        })(),
      );
    return barrels.get(file);
  };
  return {
    name: 'through-barrels',
    setup(b) {
      b.onLoad({ filter: /node_modules[\\/]@(smithy|aws-sdk)[\\/].*[\\/]dist-es[\\/].*\.js$/ }, async (args) => {
        const out = [];
        for (const line of readFileSync(args.path, 'utf8').split('\n')) {
          const m = LINE.exec(line);
          const from =
            m && /^@(smithy|aws-sdk)\//.test(m[3])
              ? await b.resolve(m[3], { kind: 'import-statement', resolveDir: dirname(args.path), importer: args.path })
              : undefined;
          if (!from || from.errors.length > 0 || from.namespace !== 'file' || !/[\\/]index\.js$/.test(from.path)) {
            out.push(line);
            continue;
          }
          const names = await reexports(b, from.path);
          const kept = [];
          for (const spec of m[2]
            .split(',')
            .map((x) => x.trim())
            .filter(Boolean)) {
            const [name, as = name] = spec.split(/\s+as\s+/);
            const target = names.get(name);
            if (target) out.push(`${m[1]} { ${target[1]} as ${as} } from ${JSON.stringify(target[0])};`);
            else kept.push(spec);
          }
          if (kept.length > 0) out.push(`${m[1]} { ${kept.join(', ')} } from "${m[3]}";`);
        }
        return { contents: out.join('\n'), loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  };
}

/** config/rotator.yaml, compiled into the bundle as JSON (the Lambda then needs no YAML parser). */
function bundledConfig(path) {
  const file = resolve(root, path);
  if (!existsSync(file)) {
    const fix =
      'copy config/example.yaml to config/rotator.yaml and edit it, or pass --config ' +
      '(or set TWILIO_KEY_ROTATOR_CONFIG)';
    throw Object.assign(new Error(`${path} does not exist: ${fix}`), { code: 'ROTATOR_NO_CONFIG' });
  }
  // The same parser and schema as the CLI's (src/config/load.ts); the handler validates the result.
  return load(readFileSync(file, 'utf8'), { schema: CORE_SCHEMA });
}

/**
 * zod/mini as scripts/zod-deferred-stub.mjs, for the functions src/ calls (as `z.name`, the one way
 * it imports zod): each recorded, made for real after loadZod(), which imports just those from zod.
 */
function deferredZod() {
  const stubFile = join(root, 'scripts', 'zod-deferred-stub.mjs');
  const used = async () => {
    const zod = await import('zod/mini');
    const names = new Set();
    for (const file of readdirSync(join(root, 'src'), { recursive: true }))
      if (file.endsWith('.ts'))
        for (const m of readFileSync(join(root, 'src', file), 'utf8').matchAll(/\bz\s*\.\s*([A-Za-z_$][\w$]*)/g))
          if (typeof zod[m[1]] === 'function') names.add(m[1]);
    return [...names].sort();
  };
  return {
    name: 'zod-deferred',
    setup(b) {
      // The real zod/mini: what the stub's chunk, `zod-deferred:used`, re-exports.
      const real = (args) =>
        args.importer === stubFile || (args.namespace === 'zod-deferred' && args.importer === 'used');
      b.onResolve({ filter: /^zod\/mini$/ }, (args) =>
        real(args) ? undefined : { path: 'zod/mini', namespace: 'zod-deferred' },
      );
      b.onResolve({ filter: /^zod-deferred:used$/ }, () => ({ path: 'used', namespace: 'zod-deferred' }));
      b.onLoad({ filter: /.*/, namespace: 'zod-deferred' }, async (args) => {
        const names = await used();
        if (args.path === 'used')
          return { contents: `export { ${names.join(', ')} } from 'zod/mini';`, loader: 'js', resolveDir: root };
        const lines = names.map((n, i) => `const f${i} = defer(${JSON.stringify(n)}); export { f${i} as ${n} };`);
        const from = JSON.stringify(stubFile);
        const head = `import { defer } from ${from}; export { loadZod } from ${from};`;
        return { contents: [head, ...lines].join('\n'), loader: 'js', resolveDir: root };
      });
    },
  };
}

/** The credential kinds the configuration's targets and fleets use; undefined when one is not readable (a ${NAME}). */
function configuredKinds(raw) {
  const targets = Array.isArray(raw?.targets) ? raw.targets : [];
  const kinds = targets.map((t) => t?.kind ?? 'api-key');
  if (Array.isArray(raw?.fleets) && raw.fleets.length > 0) kinds.push('api-key');
  return kinds.every((k) => typeof k === 'string' && !k.includes('$')) ? kinds : undefined;
}

/**
 * The kinds of src/credentials/registry.ts that no target of `raw` uses (a fleet's members are API-key
 * targets), each replaced by a stand-in that has only its schema's `kind`, so that a validation at
 * start-up still names every kind: a cold start then reads none of their code. A `kind` this cannot
 * read (a ${NAME}) keeps every kind in the bundle.
 */
function onlyConfiguredKinds(raw) {
  const registry = join(root, 'src', 'credentials', 'registry.ts');
  const kinds = configuredKinds(raw) ?? [];
  const readable = configuredKinds(raw) !== undefined;
  const exported = new Map(
    [...readFileSync(registry, 'utf8').matchAll(/import \{ (\w+) \} from '\.\/([\w-]+)\/module\.js'/g)].map((m) => [
      m[2],
      m[1],
    ]),
  );
  return {
    name: 'only-configured-kinds',
    setup(b) {
      b.onResolve({ filter: /^\.\/[\w-]+\/module\.js$/ }, (args) => {
        const kind = args.path.split('/')[1];
        if (!readable || args.importer !== registry || kinds.includes(kind) || !exported.has(kind)) return undefined;
        return { path: kind, namespace: 'unused-kind' };
      });
      b.onLoad({ filter: /.*/, namespace: 'unused-kind' }, ({ path: kind }) => {
        const why = `the ${kind} kind is not in this bundle: no target of the configuration it was built from uses it`;
        const lines = [
          "import * as z from 'zod/mini';",
          `const missing = () => { throw new Error(${JSON.stringify(why)}); };`,
          `const schema = z.strictObject({ kind: z.literal(${JSON.stringify(kind)}) });`,
          'const kind = { config: { schema, convert: missing, check: missing } };',
          'const known = (k) => k in kind || typeof k !== "string" || k === "then" || k === "toJSON";',
          `export const ${exported.get(kind)} = new Proxy(kind, { get: (t, k) => (known(k) ? t[k] : missing()) });`,
        ];
        return { contents: lines.join('\n'), loader: 'js', resolveDir: root };
      });
    },
  };
}

/**
 * Modules of src/ the Lambda bundle leaves out, each replaced by a stand-in whose every export throws,
 * naming why: code no Lambda path calls (the dry run: no event asks for one) or that the configuration
 * it was built from proves unused (the file store without `stores.file`, the Auth Token adapter without
 * an auth-token target, the subaccount listing without fleets). A configuration whose kinds this
 * cannot read (a ${NAME}) keeps the Auth Token adapter.
 */
function leftOut(raw) {
  const kinds = configuredKinds(raw);
  const fleets = Array.isArray(raw?.fleets) && raw.fleets.length > 0;
  const modules = new Map(
    [
      ['src/engine/dry-run.ts', 'the Lambda never dry-runs'],
      !raw?.stores?.file && ['src/adapters/secrets/file-store.ts', 'the configuration has no stores.file'],
      kinds &&
        !kinds.includes('auth-token') && ['src/adapters/twilio/auth-tokens.ts', 'no target is an auth-token target'],
      !fleets && ['src/adapters/twilio/subaccounts.ts', 'the configuration has no fleets'],
    ]
      .filter(Boolean)
      .map(([file, why]) => [join(root, file), why]),
  );
  return {
    name: 'left-out',
    setup(b) {
      b.onResolve({ filter: /^\.\.?\/.*\.js$/ }, (args) => {
        const file = resolve(args.resolveDir, args.path).replace(/\.js$/, '.ts');
        return modules.has(file) ? { path: file, namespace: 'left-out' } : undefined;
      });
      b.onLoad({ filter: /.*/, namespace: 'left-out' }, ({ path: file }) => {
        const shown = relative(root, file);
        const why = `${shown} is not in this Lambda bundle: ${modules.get(file)} where it was built`;
        const names = [...readFileSync(file, 'utf8').matchAll(/^export (?:async )?(?:function|const) (\w+)/gm)];
        const lines = [
          `const missing = () => { throw new Error(${JSON.stringify(why)}); };`,
          ...names.map(([, name]) => `export const ${name} = missing;`),
        ];
        return { contents: lines.join('\n'), loader: 'js' };
      });
    },
  };
}

/**
 * A package's package.json as `importer` reads it, cut to its name and version: twilio-node and the
 * Secrets Manager client read only the version (for the User-Agent header) but bundle the whole file.
 */
function versionOnly(importer) {
  return {
    name: 'version-only',
    setup(b) {
      b.onResolve({ filter: /[\\/]package\.json$/ }, (args) =>
        importer.test(args.importer)
          ? { path: resolve(args.resolveDir, args.path), namespace: 'version-only' }
          : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: 'version-only' }, (args) => {
        const { name, version } = JSON.parse(readFileSync(args.path, 'utf8'));
        return { contents: JSON.stringify({ name, version }), loader: 'json' };
      });
    },
  };
}

/**
 * The configuration's validation (src/config/validate.ts and schema.ts, a chunk loaded only when the
 * handler validates at start-up) gets its own copies of the schema modules it shares with start-up code
 * (fleets.ts, alerts.ts, issues.ts: schemas and checks, no state). esbuild splits by file, so a module
 * both use went to start-up whole, schemas included, where start-up calls two small functions of it.
 */
function validationCopies() {
  const shared = /^\.\/(fleets|alerts|issues)\.js$/;
  const validation = new Set(['validate.ts', 'schema.ts'].map((f) => join(root, 'src', 'config', f)));
  return {
    name: 'validation-copies',
    setup(b) {
      b.onResolve({ filter: shared }, (args) =>
        validation.has(args.importer) || args.namespace === 'validation-copy'
          ? { path: resolve(args.resolveDir, args.path).replace(/\.js$/, '.ts'), namespace: 'validation-copy' }
          : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: 'validation-copy' }, (args) => ({
        contents: readFileSync(args.path, 'utf8'),
        loader: 'ts',
        resolveDir: dirname(args.path),
      }));
    },
  };
}

/** The Lambda's own build choices, on top of leanOptions(), for the configuration `raw`. */
function lambdaOnly(raw) {
  return [
    throughBarrels(),
    leftOut(raw),
    validationCopies(),
    versionOnly(/(twilio[\\/]lib[\\/]base[\\/]BaseTwilio|client-secrets-manager[\\/]dist-es[\\/]runtimeConfig)\.js$/),
    // The IAM resources twilio-node's V1 domain requires and the rotator never uses.
    stub(
      /^\.\/v1\/(oAuthApp|rolePermission|token)$/,
      /twilio[\\/]lib[\\/]rest[\\/]iam[\\/]V1\.js$/,
      'twilio-unused-resource-stub.cjs',
    ),
    stub(/^dayjs(\/plugin\/utc)?$/, /twilio[\\/]lib[\\/]base[\\/](de)?serialize\.js$/, 'dayjs-utc-stub.cjs'),
    stub(/^node-cron$/, /src[\\/]config-kit[\\/]schedule\.ts$/, 'node-cron-deferred-stub.mjs'),
    stub(/^\.\/Sha256Js$/, /checksum[\\/]sha256[\\/]Sha256Node\.js$/, 'sha256-js-stub.mjs'),
    stub(
      /^@aws-sdk\/credential-provider-node$/,
      /client-secrets-manager[\\/]dist-es[\\/]runtimeConfig\.js$/,
      'credential-chain-stub.mjs',
    ),
  ];
}

let validator;
/** src/config/validate.ts's parseConfigObject, bundled for this process once. */
async function parseConfigObject(raw, options) {
  if (!validator) {
    // One file per process: builds run side by side (tests) and each imports its own.
    const outfile = join(root, 'dist', '.config-validator', `validate-${process.pid}.mjs`);
    await build({
      entryPoints: [join(root, 'src', 'config', 'validate.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      logLevel: 'warning',
    });
    validator = await import(pathToFileURL(outfile).href).finally(() => rmSync(outfile, { force: true }));
  }
  return validator.parseConfigObject(raw, options);
}

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}/g;

/** The variables `${NAME}` references in the configuration's strings name. */
function referenced(value, names = new Set()) {
  if (typeof value === 'string') for (const m of value.matchAll(REFERENCE)) names.add(m[1]);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) referenced(v, names);
  return names;
}

/**
 * Fields whose `${NAME}` value may be written into the bundle: identifiers and places, never a secret.
 * A reference anywhere else (a probe URL or header, an alert channel's address) may carry a token, so
 * such a configuration is validated at start-up as before and no variable's value enters the bundle.
 */
const BAKEABLE = new Set(['accountSid', 'parentAccountSid', 'region', 'secretId', 'endpoint']);

/** The first field path whose string holds a `${NAME}` reference and is not BAKEABLE, else undefined. */
function secretReference(value, path = []) {
  if (typeof value === 'string') {
    const field = path[path.length - 1];
    return value.search(REFERENCE) >= 0 && !BAKEABLE.has(field) ? path.join('.') : undefined;
  }
  if (!value || typeof value !== 'object') return undefined;
  for (const [k, v] of Object.entries(value)) {
    const found = secretReference(v, [...path, k]);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** `value` as JSON when it is plain data (nothing JSON would lose or change), else undefined. */
function plainJson(value) {
  try {
    const json = JSON.stringify(value, (_, v) => {
      const plain = v === null || ['string', 'number', 'boolean'].includes(typeof v) || Array.isArray(v);
      if (plain || Object.getPrototypeOf(v) === Object.prototype) return v;
      throw new Error('not plain data');
    });
    return JSON.stringify(JSON.parse(json)) === JSON.stringify(value) ? json : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The configuration validated and converted here, with the values it read from this environment,
 * when the handler's own validation at start-up could not give another result: `{ compiled }`,
 * whose `env` maps each `${NAME}` variable to the value it had (null: unset) and whose `set` lists the
 * variables that name a secret (a probe header, an alert channel's), which must only be set. Else
 * `{ atStart }` says why the handler validates at start-up instead, as it did before. A configuration
 * that is invalid in an environment that sets every variable it reads fails the build with the
 * message the handler would have given.
 */
async function compileConfig(raw, source) {
  if (Array.isArray(raw?.fleets) && raw.fleets.length > 0)
    return { atStart: 'fleets convert their members with the schema at run time' };
  const path = raw?.stores?.file?.path;
  if (typeof path === 'string' && !isAbsolute(path))
    return { atStart: 'stores.file.path is relative to the task root' };
  const unbakeable = secretReference(raw);
  if (unbakeable !== undefined) return { atStart: `\${NAME} in ${unbakeable} may hold a secret` };
  const refs = referenced(raw);
  const named = new Set();
  // Variables other than ${NAME} ones hold secrets, which need only be set (checked below): read as
  // `secret` (or as 'x' when unset here), their values never leave this function.
  const environment = (secret) =>
    new Proxy(process.env, {
      get: (env, name) => {
        if (typeof name !== 'string' || refs.has(name)) return env[name];
        named.add(name);
        return secret ?? (env[name] || 'x');
      },
    });
  try {
    await parseConfigObject(raw, { env: environment(), source, baseDir: '/' });
  } catch (err) {
    const unset = [...refs, ...named].filter((n) => !process.env[n]);
    if (err?.name !== 'ConfigError' || unset.length === 0) throw err;
    return { atStart: `${unset.join(', ')} not set where it was built` };
  }
  // A secret's check must take any value it may hold: validated again with two that mean nothing.
  let config;
  try {
    await parseConfigObject(raw, { env: environment('x'), source, baseDir: '/' });
    config = await parseConfigObject(raw, { env: environment('whsec_ not a value'), source, baseDir: '/' });
  } catch {
    return { atStart: `${[...named].join(', ')} must hold a value of a particular form` };
  }
  const json = plainJson(config);
  if (json === undefined) return { atStart: 'its converted form is not plain data' };
  const env = Object.fromEntries([...refs].sort().map((n) => [n, process.env[n] || null]));
  return { compiled: { config: JSON.parse(json), env, set: [...named].sort() } };
}

/**
 * What a build writes into `dir` (the entry, its map and licences, chunks/, the configuration's
 * fingerprint), to clear before the next.
 */
const previousBuild = (dir) => [
  ...['handler.mjs', 'handler.mjs.map', 'handler.mjs.LEGAL.txt', FINGERPRINT_FILE].map((f) => join(dir, f)),
  join(dir, 'chunks'),
];

/**
 * The JavaScript files a build wrote, by absolute path, with their sizes and static imports, from
 * esbuild's metafile (whose paths are relative to `root`, the build's working directory).
 */
export function javascriptOutputs(metafile) {
  return new Map(
    Object.entries(metafile.outputs)
      .filter(([path]) => path.endsWith('.mjs'))
      .map(([path, output]) => [
        resolve(root, path),
        {
          bytes: output.bytes,
          imports: output.imports
            .filter((i) => i.kind === 'import-statement' && !i.external)
            .map((i) => resolve(root, i.path)),
        },
      ]),
  );
}

/** The entry and every chunk it imports statically: what a cold start reads before the handler runs. */
export function loadedAtInit(outputs, entry) {
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const imported of outputs.get(file)?.imports ?? []) visit(imported);
  };
  visit(entry);
  return [...seen];
}

/**
 * The build choices above that keep start-up lean, shared by the Lambda's bundle and the CLI's
 * (scripts/build-cli.mjs): ESM builds of the AWS SDK first, built-ins through require(), narrower
 * imports, no axios, winston on node:stream.
 */
export function leanOptions() {
  return {
    define: { 'process.env.NODE_ENV': '"production"' },
    mainFields: ['module', 'main'],
    plugins: [
      builtinsViaRequire(),
      redirect([
        // The Secrets Manager client uses one protocol; the barrel also holds the query, XML, REST
        // and CBOR ones the SDK's nested clients (STS, SSO) use. Those live in lazy chunks, but
        // code splitting keeps whatever a start-up module imports in the start-up chunks.
        [
          '@aws-sdk/core/protocols',
          /client-secrets-manager[\\/]dist-es[\\/]runtimeConfig\.shared\.js$/,
          'node_modules/@aws-sdk/core/dist-es/submodules/protocols/json/AwsJson1_1Protocol.js',
        ],
        // winston and logform each carry an identical copy (2.5.0) of safe-stable-stringify.
        [
          'safe-stable-stringify',
          /[\\/](winston|logform)[\\/]/,
          'node_modules/logform/node_modules/safe-stable-stringify/index.js',
        ],
        // winston's File and Http transports sit behind lazy getters; the rotator logs to a stream.
        ['./file', /winston[\\/]lib[\\/]winston[\\/]transports[\\/]index\.js$/, 'scripts/winston-transport-stub.cjs'],
        ['./http', /winston[\\/]lib[\\/]winston[\\/]transports[\\/]index\.js$/, 'scripts/winston-transport-stub.cjs'],
      ]),
      stub(/^\.\/RequestClient$/, /twilio[\\/]lib[\\/]base[\\/]BaseTwilio\.js$/, 'twilio-request-client-stub.cjs'),
      replace({
        'readable-stream': "module.exports = require('node:stream');",
        'readable-stream/lib/_stream_writable.js': "module.exports = require('node:stream').Writable;",
      }),
    ],
  };
}

/**
 * Start-up in one file. esbuild's split output (in `from`) has the entry import a few dozen chunks,
 * one per set of lazy chunks that share a module with start-up; Node 22 took about a third longer to
 * import those than the same code in one file (module init, median of paired runs). So the entry and
 * every chunk it imports statically are bundled again into `dir`/handler.mjs, which also exports what
 * the lazy chunks import from those chunks; each such chunk becomes one line that re-exports that from
 * the handler, so a lazy chunk (copied as it is) shares the handler's modules. Returns the result's
 * metafile in esbuild's shape: the handler's inputs are the sources of the files it holds.
 */
async function oneStartUpFile(from, dir, metafile) {
  const outputs = javascriptOutputs(metafile);
  const entry = join(from, 'handler.mjs');
  const init = new Set(loadedAtInit(outputs, entry));
  const lazy = [...outputs.keys()].filter((f) => !init.has(f));
  const alias = new Map([...init].filter((f) => f !== entry).map((f, i) => [f, `__tkr${i}`]));
  // What the lazy chunks import from start-up chunks, by chunk: names, or all of them (a namespace import).
  const wanted = new Map();
  const want = (file, names) => {
    if (!alias.has(file)) return;
    const all = metafile.outputs[relative(root, file)].exports;
    wanted.set(file, new Set([...(wanted.get(file) ?? []), ...(names ?? all)]));
  };
  for (const file of lazy) {
    const code = readFileSync(file, 'utf8');
    for (const m of code.matchAll(/(?:import|export)\s*(\{[^}]*\}|\*\s*as\s*[\w$]+|\*)?\s*(?:from)?\s*"(\.[^"]+)"/g)) {
      const target = resolve(dirname(file), m[2]);
      const names = m[1]?.startsWith('{')
        ? m[1]
            .slice(1, -1)
            .split(',')
            .map((x) => x.trim().split(/\s+as\s+/)[0])
            .filter(Boolean)
        : m[1]
          ? undefined
          : [];
      want(target, names);
    }
  }
  const lines = [`export * from ${JSON.stringify(entry)};`];
  for (const [file, names] of wanted) {
    const renamed = [...names].map((n) => `${n} as ${alias.get(file)}_${n}`);
    if (names.size > 0) lines.push(`export { ${renamed.join(', ')} } from ${JSON.stringify(file)};`);
  }
  const final = join(dir, 'handler.mjs');
  const toFinal = (file) => join(dir, relative(from, file));
  const merged = await build({
    stdin: { contents: lines.join('\n'), resolveDir: from, sourcefile: 'start-up.mjs', loader: 'js' },
    outfile: final,
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    plugins: [
      {
        name: 'lazy-chunks',
        setup(b) {
          b.onResolve({ filter: /.*/ }, (args) => {
            if (args.path.startsWith('node:')) return { path: args.path, external: true };
            if (args.kind !== 'dynamic-import') return undefined;
            const target = relative(dirname(final), toFinal(resolve(args.resolveDir, args.path)));
            return { path: `./${target.split(/[\\/]/).join('/')}`, external: true };
          });
        },
      },
    ],
  });
  mkdirSync(join(dir, 'chunks'), { recursive: true });
  for (const file of lazy)
    for (const f of [file, `${file}.map`, `${file}.LEGAL.txt`]) if (existsSync(f)) copyFileSync(f, toFinal(f));
  // A lazy chunk's map names its sources relative to the scratch folder: again relative to where it lands.
  for (const file of lazy.map((f) => `${f}.map`).filter((f) => existsSync(f))) {
    const map = JSON.parse(readFileSync(file, 'utf8'));
    const moved = (source) =>
      /^[\w-]+:/.test(source) ? source : relative(dirname(toFinal(file)), resolve(dirname(file), source));
    map.sources = map.sources.map((source) => moved(source).split(/[\\/]/).join('/'));
    writeFileSync(toFinal(file), JSON.stringify(map));
  }
  for (const [file, short] of alias) {
    const names = [...(wanted.get(file) ?? [])].map((n) => `${short}_${n} as ${n}`);
    const from = relative(dirname(toFinal(file)), final)
      .split(/[\\/]/)
      .join('/');
    writeFileSync(toFinal(file), `export { ${names.join(', ')} } from ${JSON.stringify(`./${from}`)};\n`);
  }
  const legal = [...init].map((f) => `${f}.LEGAL.txt`).filter((f) => existsSync(f));
  if (legal.length > 0) writeFileSync(`${final}.LEGAL.txt`, legal.map((f) => readFileSync(f, 'utf8')).join('\n'));
  // The result's metafile: paths relative to `root`, as esbuild's.
  const rel = (file) => relative(root, file);
  const out = { inputs: metafile.inputs, outputs: {} };
  const handlerInputs = Object.assign({}, ...[...init].map((f) => metafile.outputs[rel(f)].inputs));
  out.outputs[rel(final)] = { ...merged.metafile.outputs[rel(final)], inputs: handlerInputs, imports: [] };
  for (const file of lazy) {
    const o = metafile.outputs[rel(file)];
    const imports = o.imports.map((i) => (i.external ? i : { ...i, path: rel(toFinal(resolve(root, i.path))) }));
    out.outputs[rel(toFinal(file))] = { ...o, imports };
  }
  for (const file of alias.keys())
    out.outputs[rel(toFinal(file))] = {
      bytes: statSync(toFinal(file)).size,
      inputs: {},
      imports: [{ path: rel(final), kind: 'import-statement' }],
      exports: [...(wanted.get(file) ?? [])],
    };
  for (const [path, o] of Object.entries(out.outputs))
    if (path.endsWith('.mjs')) o.bytes = statSync(resolve(root, path)).size;
  return out;
}

/**
 * `naive: true` builds the comparison bundle for the benchmark: an entry that imports the packages
 * whole, with esbuild's defaults (no splitting, no stubs) but the same format and minification.
 */
export async function buildLambda({
  entry = 'src/entry/lambda.ts',
  outdir = 'dist/lambda',
  metafile = false,
  config = 'config/rotator.yaml',
  naive = false,
} = {}) {
  const dir = resolve(root, outdir);
  // Chunk names carry content hashes: clear the last build's so none is packaged stale.
  for (const f of previousBuild(dir)) rmSync(f, { recursive: true, force: true });
  const shared = naive ? undefined : leanOptions();
  const raw = shared ? bundledConfig(config) : undefined;
  const compiled = shared ? JSON.stringify(raw) : undefined;
  const shown = shownPath(root, resolve(root, config));
  const validated = shared ? await compileConfig(raw, shown) : undefined;
  const lean = !shared
    ? {}
    : {
        ...shared,
        plugins: [deferredZod(), onlyConfiguredKinds(raw), ...lambdaOnly(raw), ...shared.plugins],
        define: {
          ...shared.define,
          __ROTATOR_CONFIG__: compiled,
          __ROTATOR_COMPILED__: validated.compiled ? JSON.stringify(validated.compiled) : 'undefined',
        },
        // A zod/mini function the stub lacks would otherwise be undefined at run time.
        logOverride: { 'import-is-undefined': 'error' },
        splitting: true,
        chunkNames: 'chunks/[name]-[hash]',
      };
  // The Lambda's bundle is split in a scratch folder first, then its start-up made one file (above).
  const split = naive ? dir : mkdtempSync(join(tmpdir(), 'tkr-lambda-'));
  let result = await build({
    ...lean,
    absWorkingDir: root, // metafile paths are relative to it
    entryPoints: { handler: join(root, entry) },
    outdir: split,
    ...bundleOptions('node22'),
  });
  if (!naive)
    result = {
      metafile: await oneStartUpFile(split, dir, result.metafile).finally(() =>
        rmSync(split, { recursive: true, force: true }),
      ),
    };
  if (metafile) writeFileSync(join(dir, 'meta.json'), JSON.stringify(result.metafile));
  // Written last, once the bundle is complete: packaging compares it with the configuration the
  // stack is derived from and refuses a bundle of another one (scripts/config-fingerprint.cjs).
  if (compiled !== undefined)
    writeFileSync(join(dir, FINGERPRINT_FILE), `${JSON.stringify({ config: shown, sha256: fingerprint(compiled) })}\n`);
  const summary = summarize(result.metafile, join(dir, 'handler.mjs'));
  return validated ? { ...summary, configAtStart: validated.atStart } : summary;
}

/** What every bundle of this project shares, the Lambda's, the naive one and the CLI's. */
export function bundleOptions(target) {
  return {
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target,
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    legalComments: 'linked',
    metafile: true,
    logLevel: 'warning',
    // Bundled CommonJS (twilio, winston) still calls require(); ESM needs one made for it.
    banner: {
      js: "import { createRequire as __tkrRequire } from 'node:module'; const require = __tkrRequire(import.meta.url);",
    },
  };
}

/**
 * A build's files and bytes, all of them and those read at start-up from `outfile`, and the source
 * files (paths relative to the checkout) bundled into the latter.
 */
export function summarize(metafile, outfile) {
  const outputs = javascriptOutputs(metafile);
  const size = (files) => files.reduce((n, f) => n + outputs.get(f).bytes, 0);
  const files = [...outputs.keys()];
  const initFiles = loadedAtInit(outputs, outfile);
  const initInputs = initFiles.flatMap((f) => Object.keys(metafile.outputs[relative(root, f)]?.inputs ?? {}));
  return { outfile, files, bytes: size(files), initFiles, initBytes: size(initFiles), initInputs };
}

if (process.argv[1] === import.meta.filename) {
  const at = process.argv.indexOf('--config');
  const config = at > 0 ? process.argv[at + 1] : process.env.TWILIO_KEY_ROTATOR_CONFIG || undefined;
  // A missing configuration is one line, not a stack trace.
  const built = await buildLambda({
    metafile: process.argv.includes('--metafile'),
    ...(config ? { config } : {}),
  }).catch((err) => {
    if (err?.code !== 'ROTATOR_NO_CONFIG' && err?.name !== 'ConfigError') throw err;
    console.error(`build:lambda: ${err.message}`);
    process.exit(2);
  });
  const { outfile, files, bytes, initBytes, configAtStart } = built;
  const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
  console.log(
    `${relative(process.cwd(), outfile)}: ${files.length} files, ${kib(bytes)} of JavaScript, ` +
      `${kib(initBytes)} read at start-up`,
  );
  const why = `validated at the handler's first invocation (${configAtStart})`;
  console.log(`configuration ${configAtStart ? why : 'validated and converted here, with this environment'}`);
}
