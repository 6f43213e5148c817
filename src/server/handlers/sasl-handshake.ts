// SaslHandshake (key 17), versions 0-1: picks the SASL mechanism of the connection's session. v1 means
// SaslAuthenticate requests follow; v0 means raw size-prefixed tokens follow (the connection reads
// them). On an authenticated connection a v1 handshake starts re-authentication. Listeners without
// SASL answer ILLEGAL_SASL_STATE with no mechanisms, as Kafka does for a handshake it does not expect.
import { ERROR_CODES } from '../../protocol/error-codes.ts';
import { API_KEYS } from '../../protocol/generated/api-keys.ts';
import { decodeSaslHandshakeRequest, encodeSaslHandshakeResponse, type SaslHandshakeRequest, type SaslHandshakeResponse } from '../../protocol/generated/sasl-handshake.ts';
import { defineHandler } from '../handler.ts';

export const saslHandshakeHandler = defineHandler<SaslHandshakeRequest, SaslHandshakeResponse>({
  apiKey: API_KEYS.SASL_HANDSHAKE,
  minVersion: 0,
  maxVersion: 1,
  request: { decode: decodeSaslHandshakeRequest },
  response: { encode: encodeSaslHandshakeResponse },
  handle(ctx, request) {
    const session = ctx.sasl;
    if (session === null) return { errorCode: ERROR_CODES.ILLEGAL_SASL_STATE, mechanisms: [] };
    return session.handshake(request.mechanism, ctx.apiVersion);
  },
});
