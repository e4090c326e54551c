import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Where the local test stack listens and how to log in, as `scripts/stack/stack.sh env`
 * prints it (the one source of truth). Variables already set in the environment win,
 * so the same tests can run against other servers.
 */
const script = fileURLToPath(new URL('../../scripts/stack/stack.sh', import.meta.url));
const printed = Object.fromEntries(
  execFileSync('bash', [script, 'env'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes('='))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
) as Record<string, string>;
const env = (name: string) => process.env[name] || printed[name] || '';

export const stack = {
  kafkaBrokers: env('KAFKA_BROKERS').split(','),
  /** The broker's secured listeners and what a client needs for them (scripts/stack/services/kafka.sh). */
  kafkaSecured: {
    saslSslBrokers: env('KAFKA_SASL_SSL_BROKERS').split(','),
    sslBrokers: env('KAFKA_SSL_BROKERS').split(','),
    /** SASL_SSL with OAUTHBEARER: tokens of the authorization server's Kafka clients (auth.kafkaClient). */
    oauthBrokers: env('KAFKA_OAUTH_BROKERS').split(','),
    caFile: env('KAFKA_TLS_CA_FILE'),
    clientCertFile: env('KAFKA_TLS_CLIENT_CERT_FILE'),
    clientKeyFile: env('KAFKA_TLS_CLIENT_KEY_FILE'),
    scramUsername: env('KAFKA_SCRAM_USERNAME'),
    scramPasswordFile: env('KAFKA_SCRAM_PASSWORD_FILE'),
  },
  orthancUrl: env('ORTHANC_URL'),
  dicomwebUrl: env('DICOMWEB_BASE_URL'),
  orthancUsername: env('ORTHANC_USERNAME'),
  orthancPassword: env('ORTHANC_PASSWORD'),
  fhirBaseUrl: env('FHIR_BASE_URL'),
  /** HAPI's HTTPS port that admits only the authorization server's tokens (scripts/stack/services/fhir.sh). */
  fhirSecuredBaseUrl: env('FHIR_SECURED_BASE_URL'),
  /** The stack CA (scripts/stack/lib/tls.sh): every TLS server of the stack has a certificate from it. */
  tlsCaFile: env('STACK_TLS_CA_FILE'),
  /** The OAuth2 authorization server and its clients (scripts/stack/services/auth.sh, docs/security.md). */
  auth: {
    issuer: env('AUTH_SERVER_ISSUER'),
    tokenUrl: env('AUTH_SERVER_TOKEN_URL'),
    jwksUrl: env('AUTH_SERVER_JWKS_URL'),
    adminUrl: env('AUTH_SERVER_ADMIN_URL'),
    adminSecretFile: env('AUTH_SERVER_ADMIN_SECRET_FILE'),
    /** Space-separated: every scope the write clients may ask for (SMART v1 and v2 forms). */
    writeScopes: env('AUTH_WRITE_SCOPES'),
    readScopes: env('AUTH_READ_SCOPES'),
    /** client_secret_basic and client_secret_post, write scopes. */
    secretClient: { id: env('AUTH_SECRET_CLIENT_ID'), secretFile: env('AUTH_SECRET_CLIENT_SECRET_FILE') },
    /** private_key_jwt, RS384 (RSA 2048); the key is PKCS#8 PEM; write scopes. */
    rs384Client: {
      id: env('AUTH_RS384_CLIENT_ID'),
      keyFile: env('AUTH_RS384_CLIENT_KEY_FILE'),
      kid: env('AUTH_RS384_CLIENT_KID'),
    },
    /** private_key_jwt, ES384 (P-384); write scopes. */
    es384Client: {
      id: env('AUTH_ES384_CLIENT_ID'),
      keyFile: env('AUTH_ES384_CLIENT_KEY_FILE'),
      kid: env('AUTH_ES384_CLIENT_KID'),
    },
    /** client secret, read and search scopes only. */
    readonlyClient: { id: env('AUTH_READONLY_CLIENT_ID'), secretFile: env('AUTH_READONLY_CLIENT_SECRET_FILE') },
    /** client secret, write scopes, tokens that live AUTH_SHORT_TOKEN_SECONDS (20 s). */
    shortClient: {
      id: env('AUTH_SHORT_CLIENT_ID'),
      secretFile: env('AUTH_SHORT_CLIENT_SECRET_FILE'),
      tokenSeconds: Number(env('AUTH_SHORT_TOKEN_SECONDS')),
    },
    /** The audience the broker's OAUTHBEARER listener expects, and the one scope its clients may ask for. */
    kafkaAudience: env('AUTH_KAFKA_AUDIENCE'),
    kafkaScope: env('AUTH_KAFKA_SCOPE'),
    /** client secret, the Kafka audience and scope. */
    kafkaClient: { id: env('AUTH_KAFKA_CLIENT_ID'), secretFile: env('AUTH_KAFKA_CLIENT_SECRET_FILE') },
    /** private_key_jwt, RS384, the Kafka audience and scope. */
    kafkaRs384Client: { id: env('AUTH_KAFKA_RS384_CLIENT_ID'), keyFile: env('AUTH_KAFKA_RS384_CLIENT_KEY_FILE') },
  },
  /** The Authorization header for the archive. */
  get orthancAuthorization(): string {
    return `Basic ${Buffer.from(`${this.orthancUsername}:${this.orthancPassword}`).toString('base64')}`;
  },
};

export async function assertReachable(name: string, url: string, headers: Record<string, string> = {}): Promise<void> {
  try {
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
  } catch (error) {
    throw new Error(
      `${name} is not reachable at ${url} (${String(error)}); start the stack with \`npm run stack:up\``,
      {
        cause: error,
      },
    );
  }
}
