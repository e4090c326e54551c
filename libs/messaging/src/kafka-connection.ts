import { readFileSync } from 'node:fs';
import type { KafkaSecurity } from '@app/config';
import { oauthClientTokens, tokenCache, type HttpAuthContext } from '@app/credentials';
import kafkajs, { Kafka, logLevel, type KafkaConfig, type LogEntry, type Mechanism, type RetryOptions } from 'kafkajs';
import { kafkajsLog, type KafkaLog } from './kafka-log.js';

/**
 * Where the broker is and how to speak to it, with the PEM files and the password file of
 * the security settings read once, at start-up. The one source of every kafkajs client of
 * the worker (consumer, its admin, publisher), so TLS and SASL are set up in one place; with
 * OAUTHBEARER they share one token cache too (one token request per token lifetime).
 */
export interface KafkaConnection {
  brokers: string[];
  clientId: string;
  security: KafkaSecurity;
  /** The files' contents; kept out of logs (see toJSON). */
  readonly secrets: KafkaSecrets;
}

interface KafkaSecrets {
  ca?: string;
  cert?: string;
  key?: string;
  password?: string;
  /** OAUTHBEARER: the current access token, cached and renewed before it expires. */
  oauthToken?: () => Promise<string>;
}

/** What openKafkaConnection may be told besides the settings. */
export interface KafkaConnectionOptions {
  /** Told about each OAUTHBEARER token obtained (never the token), for logs. */
  onToken?: HttpAuthContext['onToken'];
  /** The token endpoint's fetch (tests). */
  fetch?: typeof fetch;
}

/** A file named by a Kafka setting could not be read: a configuration error (the worker exits 78). */
export class KafkaSettingsFileError extends Error {
  constructor(
    readonly setting: string,
    readonly path: string,
    cause: unknown,
  ) {
    const reason = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
    super(`cannot read ${setting}=${path} (${reason})`, { cause });
    this.name = 'KafkaSettingsFileError';
  }
}

function readSetting(setting: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new KafkaSettingsFileError(setting, path, error);
  }
}

/**
 * Reads the files the security settings name; throws KafkaSettingsFileError naming the setting
 * (or, for OAUTHBEARER's secret or key file, @app/credentials' CredentialsFileError). Asks for
 * no token yet: the first connection does.
 */
export function openKafkaConnection(
  settings: { brokers: string[]; clientId: string; security: KafkaSecurity },
  options: KafkaConnectionOptions = {},
): KafkaConnection {
  const { security } = settings;
  const secrets: KafkaSecrets = {};
  if (security.protocol !== 'PLAINTEXT') {
    const { caFile, clientCertificate } = security.tls;
    if (caFile) secrets.ca = readSetting('KAFKA_SSL_CA_FILE', caFile);
    if (clientCertificate) {
      secrets.cert = readSetting('KAFKA_SSL_CERT_FILE', clientCertificate.certFile);
      secrets.key = readSetting('KAFKA_SSL_KEY_FILE', clientCertificate.keyFile);
    }
  }
  if (security.protocol === 'SASL_SSL' && security.sasl.mechanism === 'oauthbearer') {
    // The client's secret or key file is re-read when it changes (a rotated Secret), like HTTP's.
    const tokens = tokenCache(
      oauthClientTokens(security.sasl.client, {
        settings: 'KAFKA_SASL_OAUTH',
        ...(options.onToken ? { onToken: options.onToken } : {}),
        ...(options.fetch ? { fetch: options.fetch } : {}),
      }),
    );
    secrets.oauthToken = () => tokens.token();
  } else if (security.protocol === 'SASL_SSL' && security.sasl.mechanism === 'scram-sha-512') {
    const { password } = security.sasl;
    // A mounted Secret usually ends with a newline that is not part of the password.
    secrets.password =
      'file' in password
        ? readSetting('KAFKA_SASL_PASSWORD_FILE', password.file).replace(/\r?\n$/, '')
        : password.value;
  }
  return {
    brokers: settings.brokers,
    clientId: settings.clientId,
    security,
    secrets: Object.defineProperty(secrets, 'toJSON', { value: () => '[redacted]' }),
  };
}

/**
 * The kafkajs `ssl` and `sasl` options of a connection: the one place they are built.
 * Without a CA file the system's CAs are trusted; the certificate must name the broker.
 * OAUTHBEARER: kafkajs asks the provider on every authentication, a new connection's and a
 * re-authentication's (KIP-368: when the broker sets connections.max.reauth.ms, kafkajs
 * re-authenticates a connection before the session, bounded by the token's expiry, ends); the
 * cache answers with the current token, renewed a fifth of its lifetime (at most 30 s) early.
 */
export function kafkaSecurityOptions(connection: KafkaConnection): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const { security, secrets } = connection;
  if (security.protocol === 'PLAINTEXT') return {};
  const ssl = {
    rejectUnauthorized: true,
    ...(secrets.ca ? { ca: [secrets.ca] } : {}),
    ...(secrets.cert && secrets.key ? { cert: secrets.cert, key: secrets.key } : {}),
  };
  if (security.protocol === 'SSL') return { ssl };
  switch (security.sasl.mechanism) {
    case 'scram-sha-512':
      return {
        ssl,
        sasl: { mechanism: 'scram-sha-512', username: security.sasl.username, password: secrets.password! },
      };
    case 'oauthbearer':
      return { ssl, sasl: oauthBearer(secrets.oauthToken!) };
  }
}

/**
 * SASL OAUTHBEARER (RFC 7628) as kafkajs' built-in mechanism sends it, but reading the broker's
 * answer. A broker that refuses the token does not answer with an error: it sends an error
 * challenge (`{"status":"invalid_token"}`, §3.2.2) and waits for the client's %x01 before failing.
 * kafkajs' own mechanism ignores the challenge, takes the session as authenticated, and learns
 * otherwise only when the broker closes the connection at the next request (a "Closed
 * connection" retried like a broker restart). Here a challenge is a KafkaJSSASLAuthenticationError,
 * as a wrong SCRAM password is, after the %x01 that lets the broker end the exchange cleanly.
 */
export function oauthBearer(token: () => Promise<string>): Mechanism {
  return {
    mechanism: 'oauthbearer',
    authenticationProvider: ({ saslAuthenticate }) => ({
      async authenticate() {
        // The token first: a refusal at the token endpoint is its own error (AccessRefusedError).
        const value = await token();
        let challenge: Buffer | void;
        try {
          challenge = await saslAuthenticate<Buffer>({
            request: { encode: () => saslBytes(Buffer.from(`n,,\u0001auth=Bearer ${value}\u0001\u0001`, 'ascii')) },
            response: { decode: (raw: Buffer) => saslPayload(raw), parse: (data: Buffer) => data },
          });
        } catch (error) {
          throw saslRefused(`SASL OAUTHBEARER authentication failed: ${(error as Error).message}`);
        }
        if (challenge && challenge.length > 0) {
          await saslAuthenticate({ request: { encode: () => saslBytes(Buffer.from([1])) } }).catch(() => undefined);
          throw saslRefused(
            `SASL OAUTHBEARER authentication failed: the broker refused the token (${challengeStatus(challenge)})`,
          );
        }
      },
    }),
  };
}

/**
 * kafkajs' own class (not retried by its clients, as a wrong SCRAM password), through the default
 * export: Node's ESM loader cannot see the error classes as named exports of this CommonJS
 * package (they are spread into module.exports). Its typings declare no message argument; the
 * class takes one.
 */
function saslRefused(message: string): Error {
  const SaslError = kafkajs.KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error;
  return new SaslError(message);
}

/** kafkajs' framing of SASL bytes: a 32-bit length, then the bytes. */
function saslBytes(payload: Buffer): Buffer {
  const framed = Buffer.alloc(4 + payload.length);
  framed.writeInt32BE(payload.length, 0);
  payload.copy(framed, 4);
  return framed;
}

function saslPayload(raw: Buffer): Buffer {
  const length = raw.length >= 4 ? raw.readInt32BE(0) : -1;
  return length > 0 ? raw.subarray(4, 4 + length) : Buffer.alloc(0);
}

/** The status of an RFC 7628 error challenge, e.g. invalid_token; never more of it. */
function challengeStatus(challenge: Buffer): string {
  try {
    const status = (JSON.parse(challenge.toString('utf8')) as { status?: unknown }).status;
    return typeof status === 'string' && /^[a-z_]{1,40}$/.test(status) ? status : 'an error challenge';
  } catch {
    return 'an error challenge';
  }
}

/** A kafkajs client for this connection; `retry` only for the start-up probe. */
export function createKafkaClient(connection: KafkaConnection, log: KafkaLog, retry?: RetryOptions): Kafka {
  return new Kafka({
    clientId: connection.clientId,
    brokers: connection.brokers,
    ...kafkaSecurityOptions(connection),
    ...(retry ? { retry } : {}),
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => kafkajsLog(log, entry),
  });
}
