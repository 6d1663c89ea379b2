import { principalAccount, type Handler } from './context.js';
import { TwilioApiError, iso8601, notFound } from './wire.js';

/**
 * Accounts v1 AuthTokens (§3). Dates here are ISO 8601, unlike the keys.
 *
 * SuppressEmailNotification is in the official definition since @twilio/cli-core 9.0.0: a boolean in
 * the form of Secondary POST and Promote, and in the query of Secondary DELETE. The emulator sends no
 * email, so the value changes nothing here; it is still checked to be a boolean, because Prism refuses
 * anything else against the definition. What Twilio answers to a non-boolean is UNCONFIRMED (400/20001
 * chosen, as for the other malformed parameters here).
 */

const BASE = 'https://accounts.twilio.com/v1/AuthTokens';

function checkSuppressEmailNotification(from: Map<string, string>): void {
  const value = from.get('SuppressEmailNotification');
  if (value !== undefined && value !== 'true' && value !== 'false')
    throw new TwilioApiError(400, 20001, `Invalid value for SuppressEmailNotification: ${value}`);
}

export const createSecondaryAuthToken: Handler = (ctx) => {
  checkSuppressEmailNotification(ctx.form);
  const account = principalAccount(ctx);
  // Reported by dixahq/twilio-client, UNCONFIRMED by Twilio: a second secondary is 400/70002.
  if (account.secondary) throw new TwilioApiError(400, 70002, 'A secondary Auth Token already exists for this account');
  const secondary = ctx.state.createSecondary(account);
  return {
    status: 201,
    body: {
      account_sid: account.sid,
      date_created: iso8601(secondary.createdAtMs),
      date_updated: iso8601(secondary.createdAtMs),
      secondary_auth_token: secondary.token,
      url: `${BASE}/Secondary`,
    },
  };
};

export const deleteSecondaryAuthToken: Handler = (ctx) => {
  checkSuppressEmailNotification(ctx.query);
  const account = principalAccount(ctx);
  if (!account.secondary) throw notFound('/AuthTokens/Secondary');
  delete account.secondary;
  return { status: 204 };
};

export const promoteAuthToken: Handler = (ctx) => {
  checkSuppressEmailNotification(ctx.form);
  const account = principalAccount(ctx);
  if (!account.secondary) throw notFound('/AuthTokens/Promote');
  const createdAtMs = account.secondary.createdAtMs;
  ctx.state.promote(account);
  return {
    status: 200,
    body: {
      account_sid: account.sid,
      auth_token: account.primaryToken,
      date_created: iso8601(createdAtMs),
      date_updated: iso8601(account.tokenUpdatedAtMs),
      url: `${BASE}/Promote`,
    },
  };
};
