import { TAG_LAST_ERROR } from './labels.js';

/**
 * The last failure of a target, kept in tags on its secret for `status` — whole, with its punctuation
 * (the message often ends with the command that fixes it, quotes included).
 *
 * A Secrets Manager tag value holds at most 256 characters out of letters, digits, space and
 * `_ . : / = + - @`. Every other byte of the UTF-8 text is written `=XX` (hex; `=` itself is `=3D`),
 * which reads almost as plainly in the Console, and the text runs on over `rotator:last-error`,
 * `rotator:last-error:2` … `:4`. Each write sets every part (the unused ones empty), so a shorter
 * message never inherits the tail of a longer one. A message that would not fit in all four is cut
 * at a word, marked "…" — never mid-word.
 */

const TAG_VALUE_MAX = 256;
const PARTS = 4;
export const LAST_ERROR_TAGS = Array.from({ length: PARTS }, (_, i) =>
  i === 0 ? TAG_LAST_ERROR : `${TAG_LAST_ERROR}:${i + 1}`,
);

const PLAIN = /[A-Za-z0-9 _.:/+@-]/;
const isPlain = (byte: number) => byte < 0x80 && PLAIN.test(String.fromCharCode(byte));
const hex = (byte: number) => `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;

function encode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) out += isPlain(byte) ? String.fromCharCode(byte) : hex(byte);
  return out;
}

/**
 * Only `=XX` the encoder writes is decoded: a byte it would have left plain stays as written, so a
 * value from before this encoding ("status=404") reads as it was.
 */
function decode(value: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const m = /^=([0-9A-F]{2})/.exec(value.slice(i, i + 3));
    const byte = m ? parseInt(m[1]!, 16) : undefined;
    if (byte !== undefined && !isPlain(byte)) {
      bytes.push(byte);
      i += 2;
    } else bytes.push(...Buffer.from(value[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The tags that record `text` (already redacted by the caller) as the last error. */
export function lastErrorTags(text: string): Record<string, string> {
  let kept = text;
  let encoded = encode(kept);
  const room = TAG_VALUE_MAX * PARTS;
  while (encoded.length > room) {
    // Cut at the last space that leaves room for the mark, never inside a word.
    const cut = kept.lastIndexOf(' ', kept.length - Math.ceil((encoded.length - room) / 3) - 2);
    kept = `${kept.slice(0, cut > 0 ? cut : Math.max(0, kept.length - 16))} …`;
    encoded = encode(kept);
  }
  return Object.fromEntries(
    LAST_ERROR_TAGS.map((tag, i) => [tag, encoded.slice(i * TAG_VALUE_MAX, (i + 1) * TAG_VALUE_MAX)]),
  );
}

/** Every part emptied: the target moved on. */
export function clearedLastErrorTags(): Record<string, string> {
  return Object.fromEntries(LAST_ERROR_TAGS.map((tag) => [tag, '']));
}

/** The last error as it was recorded, or undefined when none is. */
export function readLastError(tags: Readonly<Record<string, string>>): string | undefined {
  const value = LAST_ERROR_TAGS.map((tag) => tags[tag] ?? '').join('');
  return value === '' ? undefined : decode(value);
}
