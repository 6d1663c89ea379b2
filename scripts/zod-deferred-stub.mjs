// zod/mini as the Lambda bundle sees it: scripts/build-lambda.mjs generates the named exports, one
// `defer(name)` per function of zod/mini that src/ calls, and `zod-deferred:used`, those functions.
// Building the configuration's schemas was the largest part of the handler's start-up, and a bundle
// whose configuration the build validated never uses them.
// Each call made while the modules load is recorded and made for real on first use, once loadZod()
// has imported zod itself (a chunk of its own); a use before that throws, naming this file.
const LATER = Symbol('zod-deferred');
let zod;

const alongside = [];

/**
 * Imports zod/mini's functions, and what the schemas' checks call (registered with `loadWithZod`);
 * the handler awaits it before it validates a configuration at start-up.
 */
export async function loadZod() {
  await Promise.all(alongside.map((load) => load()));
  zod ??= await import('zod-deferred:used');
}

/** Has `load` run by loadZod(): for a module only a schema's check uses (scripts/node-cron-deferred-stub.mjs). */
export function loadWithZod(load) {
  alongside.push(load);
}

const plain = (x) => x !== null && typeof x === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(x));

/** `x` with every recorded call in it made: in arrays and plain objects (shapes, options) too. */
const real = (x) => {
  if (typeof x === 'object' && x !== null && x[LATER]) return x[LATER]();
  if (Array.isArray(x)) return x.map(real);
  return plain(x) ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, real(v)])) : x;
};

/** A schema (or check) to be made by `make`: `.check()` is recorded too, anything else makes it now. */
function later(make) {
  let made;
  const value = () => {
    if (made === undefined) {
      if (!zod) throw new Error('zod/mini used before loadZod() (scripts/zod-deferred-stub.mjs): this is a bug');
      made = make();
    }
    return made;
  };
  return new Proxy(Object.create(null), {
    get(_, key) {
      if (key === LATER) return value;
      if (key === 'check' && made === undefined) return (...checks) => later(() => value().check(...checks.map(real)));
      const member = Reflect.get(value(), key);
      return typeof member === 'function' ? member.bind(value()) : member;
    },
  });
}

/** zod/mini's function `name`, recorded. */
export const defer =
  (name) =>
  (...args) =>
    later(() => zod[name](...args.map(real)));
