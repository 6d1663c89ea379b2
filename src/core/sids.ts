/** Twilio identifiers and the time units the program converts between, in one place. */

/** An Account SID: AC + 32 hex. */
export const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;
/** An API key SID: SK + 32 hex. */
export const KEY_SID = /^SK[0-9a-fA-F]{32}$/;

export const SECOND_MS = 1000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** Whole days, rounded down: how ages are reported. */
export function wholeDays(ms: number): number {
  return Math.floor(ms / DAY_MS);
}
