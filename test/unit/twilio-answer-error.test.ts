import { describe, expect, it } from 'vitest';
import { answerError } from '../../src/adapters/twilio/errors.js';

/** How a Twilio error answer becomes an error: status, code and message, as twilio-node's RestException. */

const answer = (body: unknown) => ({ statusCode: 401, body: JSON.stringify(body) });

describe('answerError', () => {
  it('keeps any code Twilio sends, as twilio-node does', () => {
    expect(answerError(answer({ code: 20003, message: 'Authenticate' }))).toMatchObject({
      status: 401,
      code: 20003,
      message: 'Authenticate',
    });
    expect(answerError(answer({ code: 'invalid_client' }))).toMatchObject({ code: 'invalid_client' });
  });

  it('keeps only a numeric code for the OAuth endpoints, whose answers are not all Twilio error shapes', () => {
    for (const code of ['invalid_client', null, { nested: 1 }]) {
      const err = answerError(answer({ code, message: 'bad' }), { numericCode: true });
      expect(err).not.toHaveProperty('code');
      expect(err).toMatchObject({ status: 401, message: 'bad' });
    }
    expect(answerError(answer({ code: 70051 }), { numericCode: true })).toMatchObject({ code: 70051 });
  });

  it('says the HTTP status when the answer has no message', () => {
    expect(answerError({ statusCode: 502, body: '<html>' }).message).toBe('HTTP 502');
  });
});
