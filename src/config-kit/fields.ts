import * as z from 'zod/mini';

/**
 * The configuration's field builders, shared by config/ and every kind's config.ts (this folder imports
 * only core/ and errors.ts). zod/mini tree-shakes: the Lambda bundle carries only the checks used.
 * Numbers have an upper bound too: a value that passes validation must not fail later, after changes
 * were made (1e300 days overflowed a date; 2^31 ms overflowed a timer).
 */
const bounded = (what: string, max: number, low: z.core.$ZodCheck<number>) =>
  z.number({ error: `must be a number (${what})` }).check(low, z.maximum(max, `must be at most ${max} (${what})`));
export const positive = (what: string, max: number) =>
  bounded(what, max, z.positive(`must be greater than 0 (${what})`));
export const nonNegative = (what: string, max: number) =>
  bounded(what, max, z.nonnegative(`must be 0 or more (${what})`));

export const wholeNumber = (min: number, max: number) =>
  z
    .number({ error: 'must be a number' })
    .check(
      z.int('must be a whole number'),
      z.minimum(min, `must be at least ${min}`),
      z.maximum(max, `must be at most ${max}`),
    );

export const text = (pattern: RegExp, message: string) =>
  z.string({ error: 'must be a string' }).check(z.regex(pattern, message));

export const envName = text(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');
export const flag = z.boolean({ error: 'must be true or false' });
export const awsRegion = text(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1');

/** URLs are printed in logs and status, so they may not carry credentials; headers carry those. */
const NO_CREDENTIALS = 'must not carry credentials (user:password@); they would be printed wherever the URL is';
const withoutCredentials = (u: string) =>
  !URL.canParse(u) || (new URL(u).username === '' && new URL(u).password === '');
export const httpUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .check(z.refine(withoutCredentials, NO_CREDENTIALS));

export const location = z.strictObject({
  store: z.enum(['file', 'aws'], { error: 'must be "file" or "aws"' }),
  secretId: z.string({ error: 'must be a string' }).check(z.minLength(1, 'must be a non-empty secret name or ARN')),
});

/** A strict object that may be left out, then taking its fields' defaults (stated once, on the fields). */
export function section<S extends z.core.$ZodLooseShape>(
  shape: S,
): z.ZodMiniDefault<z.ZodMiniObject<S, z.core.$strict>> {
  const object = z.strictObject(shape);
  return z._default(object, () => object.parse({}) as never);
}

/** `{ [key]: value }`, or nothing when the value is absent: optional fields stay absent after conversion. */
export const present = <K extends string, V>(key: K, value: V | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;
