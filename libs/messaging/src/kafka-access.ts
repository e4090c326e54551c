import type { KafkaOAuthClient } from '@app/config';
import { createKafkaClient, type KafkaConnection } from './kafka-connection.js';
import type { KafkaLog } from './kafka-log.js';

/**
 * The broker refusing our connection settings: retrying cannot help, so start-up stops at
 * once with a message naming the setting to check (the worker exits 77).
 *
 * - authentication: the SASL username or password is wrong; with OAUTHBEARER, the token endpoint
 *   refused the client (a wrong secret or key, a disabled client, a scope it may not have) or
 *   the broker refused its token (another issuer or audience, no scope);
 * - untrusted-certificate: the broker's certificate does not chain to KAFKA_SSL_CA_FILE
 *   (or to the system's CAs), or does not name the host of KAFKA_BROKERS;
 * - client-certificate: a mutual-TLS listener wants a client certificate it trusts;
 * - security-protocol: the listener speaks another protocol (plaintext to a TLS port, TLS to
 *   a plaintext one, SASL to a listener without it).
 */
export type KafkaRefusal = 'authentication' | 'untrusted-certificate' | 'client-certificate' | 'security-protocol';

export class KafkaAccessError extends Error {
  constructor(
    readonly refusal: KafkaRefusal,
    /** The setting(s) to check, as an operator would search for them. */
    readonly setting: string,
    message: string,
    cause: unknown,
  ) {
    super(message, { cause });
    this.name = 'KafkaAccessError';
  }
}

/** Node's codes for a server certificate that does not verify against the trusted CAs. */
const UNTRUSTED_CERTIFICATE_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'INVALID_CA',
]);

/** TLS alerts a broker sends when it wants (another) client certificate. */
const CLIENT_CERTIFICATE_ALERT = /ALERT_(BAD_CERTIFICATE|CERTIFICATE_REQUIRED|UNKNOWN_CA|HANDSHAKE_FAILURE)/;

interface ErrorFacts {
  name?: string;
  code?: string;
  type?: string;
  message?: string;
}

/** kafkajs wraps the socket's error (KafkaJSNumberOfRetriesExceeded → KafkaJSConnectionError): every link. */
function errorChain(error: unknown): ErrorFacts[] {
  const chain: ErrorFacts[] = [];
  let link = error as (ErrorFacts & { cause?: unknown; originalError?: unknown }) | undefined;
  while (link && typeof link === 'object' && chain.length < 10) {
    chain.push(link);
    link = (link.cause ?? link.originalError) as typeof link;
  }
  return chain;
}

/**
 * The refusal an error from connecting means, or undefined for anything retrying may fix (a
 * broker still starting). `fresh`: the error came from a first connection's first request, so
 * a connection closed without an answer means the listener speaks another protocol (later, a
 * broker shutting down closes connections too).
 */
export function kafkaAccessRefusal(
  error: unknown,
  connection: KafkaConnection,
  options: { fresh: boolean },
): KafkaAccessError | undefined {
  const { security } = connection;
  const brokers = connection.brokers.join(',');
  const chain = errorChain(error);
  const has = (test: (link: ErrorFacts) => boolean) => chain.find(test);
  const refuse = (refusal: KafkaRefusal, setting: string, message: string) =>
    new KafkaAccessError(refusal, setting, message, error);

  if (security.protocol === 'SASL_SSL' && security.sasl.mechanism === 'oauthbearer') {
    const oauth = oauthRefusal(chain, security.sasl.client);
    if (oauth) return refuse('authentication', oauth.setting, oauth.message);
  }
  if (
    security.protocol === 'SASL_SSL' &&
    security.sasl.mechanism === 'scram-sha-512' &&
    has((l) => l.name === 'KafkaJSSASLAuthenticationError')
  ) {
    const { username, password } = security.sasl;
    const passwordSetting = 'file' in password ? 'KAFKA_SASL_PASSWORD_FILE' : 'KAFKA_SASL_PASSWORD';
    return refuse(
      'authentication',
      `KAFKA_SASL_USERNAME, ${passwordSetting}`,
      `Kafka refused the SASL credentials of KAFKA_SASL_USERNAME=${username} (${security.sasl.mechanism.toUpperCase()}); check ${passwordSetting}`,
    );
  }
  const untrusted = has((l) => l.code !== undefined && UNTRUSTED_CERTIFICATE_CODES.has(l.code));
  if (security.protocol !== 'PLAINTEXT' && untrusted) {
    const trusted = security.tls.caFile
      ? `KAFKA_SSL_CA_FILE=${security.tls.caFile}`
      : 'the system CAs (KAFKA_SSL_CA_FILE is not set)';
    return refuse(
      'untrusted-certificate',
      'KAFKA_SSL_CA_FILE',
      `the certificate of the Kafka broker (${brokers}) is not signed by ${trusted} (${untrusted.code}); check KAFKA_SSL_CA_FILE`,
    );
  }
  if (security.protocol !== 'PLAINTEXT' && has((l) => l.code === 'ERR_TLS_CERT_ALTNAME_INVALID')) {
    return refuse(
      'untrusted-certificate',
      'KAFKA_BROKERS',
      `the certificate of the Kafka broker does not name the host in KAFKA_BROKERS=${brokers}; check KAFKA_BROKERS`,
    );
  }
  if (security.protocol !== 'PLAINTEXT' && has((l) => CLIENT_CERTIFICATE_ALERT.test(l.code ?? ''))) {
    const { clientCertificate } = security.tls;
    return refuse(
      'client-certificate',
      'KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE',
      clientCertificate
        ? `the Kafka broker (${brokers}) refused the client certificate KAFKA_SSL_CERT_FILE=${clientCertificate.certFile}; check KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE`
        : `the Kafka broker (${brokers}) requires a client certificate (mutual TLS); set KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE`,
    );
  }
  const mismatch = protocolMismatch(chain, security.protocol, options.fresh);
  if (mismatch) {
    return refuse(
      'security-protocol',
      'KAFKA_SECURITY_PROTOCOL',
      `the Kafka listener at ${brokers} does not speak KAFKA_SECURITY_PROTOCOL=${security.protocol} (${mismatch}); check KAFKA_SECURITY_PROTOCOL and KAFKA_BROKERS`,
    );
  }
  return undefined;
}

/**
 * OAUTHBEARER refusals: the token endpoint's (an AccessRefusedError of @app/credentials, whose
 * message holds the endpoint, the client id and the RFC 6749 error code only) or the broker's.
 * A token endpoint that is unreachable or answers 5xx is not one: the clients retry.
 */
function oauthRefusal(chain: ErrorFacts[], client: KafkaOAuthClient): { setting: string; message: string } | undefined {
  const credential =
    client.kind === 'private-key-jwt'
      ? 'KAFKA_SASL_OAUTH_PRIVATE_KEY_FILE'
      : 'file' in client.clientSecret
        ? 'KAFKA_SASL_OAUTH_CLIENT_SECRET_FILE'
        : 'KAFKA_SASL_OAUTH_CLIENT_SECRET';
  const endpoint = chain.find((l) => l.name === 'AccessRefusedError');
  if (endpoint) {
    const settings = (endpoint.message ?? '').endsWith('invalid_scope')
      ? ['KAFKA_SASL_OAUTH_SCOPE']
      : ['KAFKA_SASL_OAUTH_CLIENT_ID', credential];
    return {
      setting: settings.join(', '),
      message: `${endpoint.message} (KAFKA_SASL_MECHANISM=oauthbearer); check ${settings.join(' and ')}`,
    };
  }
  if (chain.some((l) => l.name === 'KafkaJSSASLAuthenticationError')) {
    return {
      setting: 'KAFKA_SASL_OAUTH_TOKEN_URL, KAFKA_SASL_OAUTH_CLIENT_ID, KAFKA_SASL_OAUTH_SCOPE',
      message:
        `Kafka refused the OAUTHBEARER token of KAFKA_SASL_OAUTH_CLIENT_ID=${client.clientId} from ` +
        `KAFKA_SASL_OAUTH_TOKEN_URL=${client.tokenUrl}; check that the broker expects this token endpoint's issuer ` +
        'and audience, and KAFKA_SASL_OAUTH_SCOPE',
    };
  }
  return undefined;
}

/** What shows that the listener speaks another protocol than ours, or undefined. */
function protocolMismatch(chain: ErrorFacts[], protocol: string, fresh: boolean): string | undefined {
  // SASL handshake refused: a listener without SASL (SSL), or without this mechanism.
  const sasl = chain.find((l) => l.type === 'ILLEGAL_SASL_STATE' || l.type === 'UNSUPPORTED_SASL_MECHANISM');
  if (sasl) return `the broker answered ${sasl.type}`;
  // A TLS ClientHello to a plaintext listener: reset, or not TLS at all.
  if (protocol !== 'PLAINTEXT') {
    const notTls = chain.find(
      (l) =>
        l.code === 'ERR_SSL_WRONG_VERSION_NUMBER' ||
        (l.code === 'ECONNRESET' && /before secure TLS connection/.test(l.message ?? '')),
    );
    if (notTls) return 'no TLS handshake';
  }
  // A plaintext request to a TLS listener (or a request before SASL to a SASL one) is dropped.
  if (fresh && chain.some((l) => l.name === 'KafkaJSConnectionClosedError')) {
    return 'the broker closed the connection without answering';
  }
  return undefined;
}

/**
 * One connection attempt without kafkajs' retries, before the real clients connect: refused
 * settings fail start-up in milliseconds instead of after every retry of every client. Any
 * other failure (a broker still starting) is left to the clients, which retry.
 */
export async function probeKafkaAccess(connection: KafkaConnection, log: KafkaLog): Promise<void> {
  // Quiet: the probe's own failure is reported once, by us, not per retry by kafkajs.
  const admin = createKafkaClient(connection, () => undefined, { retries: 0 }).admin();
  try {
    await admin.connect();
  } catch (error) {
    const refused = kafkaAccessRefusal(error, connection, { fresh: true });
    if (refused) throw refused;
    log('warn', 'Kafka not reachable yet; the clients will retry', { error: (error as Error).message });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
