// SaslAuthenticate (key 36), versions 0-2: carries one SASL token of the mechanism chosen by
// SaslHandshake v1 to the connection's session and returns the server's token; on success v1+ also
// returns the session lifetime (KIP-368). A wrong password answers SASL_AUTHENTICATION_FAILED with a
// message, and the connection then closes after the failed-authentication delay. Out of order, or on
// a listener without SASL, it answers ILLEGAL_SASL_STATE.
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import {
  decodeSaslAuthenticateRequest,
  encodeSaslAuthenticateResponse,
  type SaslAuthenticateRequest,
  type SaslAuthenticateResponse,
} from '../../protocol/generated/sasl-authenticate.ts';
import { defineHandler } from '../handler.ts';

export const saslAuthenticateHandler = defineHandler<SaslAuthenticateRequest, SaslAuthenticateResponse>({
  apiKey: API_KEYS.SASL_AUTHENTICATE,
  minVersion: 0,
  maxVersion: 2,
  request: { decode: decodeSaslAuthenticateRequest },
  response: { encode: encodeSaslAuthenticateResponse },
  handle(ctx, request) {
    const session = ctx.sasl;
    if (session === null) {
      return { errorCode: ERROR_CODES.ILLEGAL_SASL_STATE, errorMessage: 'SASL is not enabled on this listener', authBytes: new Uint8Array(0), sessionLifetimeMs: 0n };
    }
    return session.authenticate(request.authBytes);
  },
});
