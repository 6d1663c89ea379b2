// Stands in for dayjs (and dayjs/plugin/utc) where twilio-node's base/serialize.js and
// base/deserialize.js use it, in the Lambda bundle: `dayjs.extend(utc)`, `dayjs.utc(value)` (a
// second argument, a format, is ignored by dayjs without its customParseFormat plugin, which twilio-node
// does not load), `.isValid()`, `.toDate()`, and `.format()` with the two formats serialize.js writes.
// It parses exactly as dayjs 1.11's parseDate does in UTC mode (test/unit/bundle-stubs.test.ts
// compares the two on generated input), without dayjs's 9 KiB at start-up.
const REGEX_PARSE = /^(\d{4})[-/]?(\d{1,2})?[-/]?(\d{0,2})[Tt\s]*(\d{1,2})?:?(\d{1,2})?:?(\d{1,2})?[.:]?(\d+)?$/;
const INVALID = 'Invalid Date';

function parseUtc(date) {
  if (date === null) return new Date(NaN);
  if (date === undefined) return new Date();
  if (date instanceof Date) return new Date(date);
  if (typeof date === 'string' && !/Z$/i.test(date)) {
    const d = date.match(REGEX_PARSE);
    if (d) {
      const m = d[2] - 1 || 0;
      const ms = (d[7] || '0').substring(0, 3);
      return new Date(Date.UTC(d[1], m, d[3] || 1, d[4] || 0, d[5] || 0, d[6] || 0, ms));
    }
  }
  return new Date(date);
}

const pad = (n, width = 2) => String(n).padStart(width, '0');

function utc(value) {
  const d = parseUtc(value);
  const valid = d.toString() !== INVALID;
  const day = () => `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const time = () => `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return {
    isValid: () => valid,
    toDate: () => new Date(d.getTime()),
    format(format) {
      if (!valid) return INVALID;
      if (format === 'YYYY-MM-DD') return day();
      if (format === 'YYYY-MM-DD[T]HH:mm:ss[Z]') return `${day()}T${time()}Z`;
      throw new Error(
        `dayjs format "${format}" is not in the twilio-key-rotator Lambda bundle (scripts/dayjs-utc-stub.cjs)`,
      );
    },
  };
}

module.exports = { utc, extend() {} };
