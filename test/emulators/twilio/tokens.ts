import { principalAccount, type Handler } from './context.js';
import { TwilioApiError, iso8601, notFound } from './wire.js';

/** Accounts v1 AuthTokens (§3). Dates here are ISO 8601, unlike the keys. SuppressEmailNotification is ignored. */

const BASE = 'https://accounts.twilio.com/v1/AuthTokens';

export const createSecondaryAuthToken: Handler = (ctx) => {
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
  const account = principalAccount(ctx);
  if (!account.secondary) throw notFound('/AuthTokens/Secondary');
  delete account.secondary;
  return { status: 204 };
};

export const promoteAuthToken: Handler = (ctx) => {
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
