// The TLS settings of a listener: checks what serve() was given and turns it into node:tls server
// options (client certificates required, requested or not asked for), and names the principal of a
// TLS connection from its client certificate. Reads no files: PEM contents come in as strings or bytes.
import { createSecureContext, type TLSSocket, type TlsOptions as NodeTlsOptions } from 'node:tls';
import { OnelogError } from '../../errors.ts';

export const CLIENT_AUTH_MODES = ['required', 'requested', 'none'] as const;
export type ClientAuth = (typeof CLIENT_AUTH_MODES)[number];

export interface TlsOptions {
  /** The server's certificate chain (PEM). */
  readonly cert: string | Buffer;
  /** The server's private key (PEM). */
  readonly key: string | Buffer;
  /** CAs trusted to sign client certificates (PEM; default: Node's bundled roots). */
  readonly ca?: string | Buffer;
  /** Kafka's ssl.client.auth (default 'none'). */
  readonly clientAuth?: ClientAuth;
  /** Port of the TLS listener (default 9093; 0 picks a free one, see Server.tlsPort). */
  readonly port?: number;
}

/** Principal of a connection without a client certificate (Kafka's ANONYMOUS). */
export const ANONYMOUS = 'User:ANONYMOUS';

export function isClientAuth(value: string): value is ClientAuth {
  return (CLIENT_AUTH_MODES as readonly string[]).includes(value);
}

export function nodeTlsOptions(options: TlsOptions): NodeTlsOptions {
  const clientAuth = options.clientAuth ?? 'none';
  if (!isClientAuth(clientAuth)) throw new OnelogError('INVALID_ARGUMENT', `tls.clientAuth must be required, requested or none, got ${String(clientAuth)}.`);
  if (clientAuth !== 'none' && options.ca === undefined) throw new OnelogError('INVALID_ARGUMENT', `tls.clientAuth '${clientAuth}' needs tls.ca, the CA that signs client certificates.`);
  const pem = { cert: options.cert, key: options.key, ...(options.ca === undefined ? {} : { ca: options.ca }) };
  try {
    createSecureContext(pem);
  } catch (err) {
    throw new OnelogError('INVALID_ARGUMENT', `The TLS certificate, key or CA is not usable: ${err instanceof Error ? err.message : String(err)}.`, { cause: err });
  }
  return { ...pem, requestCert: clientAuth !== 'none', rejectUnauthorized: clientAuth === 'required' };
}

/**
 * The principal of a TLS connection: `User:` and the client certificate's subject as an RFC 2253
 * distinguished name, most specific attribute first (`User:CN=alice,O=Example,C=US`; Kafka's default
 * principal builder also uses the whole DN), or ANONYMOUS without a certificate. Null when the client
 * sent a certificate the CA does not vouch for (clientAuth 'requested' lets the handshake finish).
 */
export function tlsPrincipal(socket: TLSSocket): string | null {
  const certificate = socket.getPeerX509Certificate();
  if (certificate === undefined) return ANONYMOUS;
  if (!socket.authorized) return null;
  return `User:${certificate.subject.split('\n').reverse().join(',')}`;
}
