import { z } from 'zod';
import { CLIENT_SECRET_METHODS, type HttpAuth } from './http-auth.js';
import type { SecretSource } from './secret-source.js';

/**
 * How the worker authenticates to Kafka and what it trusts: the KAFKA_SECURITY_PROTOCOL
 * family of settings. Files are named here, never read (adapters touch the filesystem:
 * @app/messaging reads them once at start-up).
 */

export const KAFKA_SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_SSL'] as const;
export type KafkaSecurityProtocol = (typeof KAFKA_SECURITY_PROTOCOLS)[number];

/**
 * SASL mechanisms the worker speaks: SCRAM-SHA-512 (a username and password) and OAUTHBEARER
 * (an OAuth2 access token from a client_credentials grant, KIP-255/KIP-768).
 */
export const KAFKA_SASL_MECHANISMS = ['scram-sha-512', 'oauthbearer'] as const;
export type KafkaSaslMechanism = (typeof KAFKA_SASL_MECHANISMS)[number];

/** TLS trust and, for mutual TLS, the client's own certificate; all PEM files. */
export interface KafkaTlsFiles {
  /** A CA bundle to trust instead of the system's CAs (a hospital's own CA). */
  caFile?: string;
  clientCertificate?: { certFile: string; keyFile: string };
}

/**
 * The OAuth2 client that obtains OAUTHBEARER tokens: the same shape as an HTTP server's
 * client-credentials or private-key-jwt settings (one token client, @app/credentials).
 */
export type KafkaOAuthClient = Extract<HttpAuth, { kind: 'client-credentials' | 'private-key-jwt' }>;

export type KafkaSasl =
  | { mechanism: 'scram-sha-512'; username: string; password: SecretSource }
  | { mechanism: 'oauthbearer'; client: KafkaOAuthClient };

export type KafkaSecurity =
  | { protocol: 'PLAINTEXT' }
  | { protocol: 'SSL'; tls: KafkaTlsFiles }
  | { protocol: 'SASL_SSL'; tls: KafkaTlsFiles; sasl: KafkaSasl };

const file = z.string().min(1);

export const kafkaSecurityFields = {
  KAFKA_SECURITY_PROTOCOL: z
    .enum(KAFKA_SECURITY_PROTOCOLS, { error: `must be one of ${KAFKA_SECURITY_PROTOCOLS.join(', ')}` })
    .default('PLAINTEXT'),
  KAFKA_SSL_CA_FILE: file.optional(),
  KAFKA_SSL_CERT_FILE: file.optional(),
  KAFKA_SSL_KEY_FILE: file.optional(),
  KAFKA_SASL_MECHANISM: z
    .enum(KAFKA_SASL_MECHANISMS, { error: `must be one of ${KAFKA_SASL_MECHANISMS.join(', ')}` })
    .default('scram-sha-512'),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD_FILE: file.optional(),
  /** OAUTHBEARER: the token endpoint and the client (a secret, or a key for private_key_jwt). */
  KAFKA_SASL_OAUTH_TOKEN_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  KAFKA_SASL_OAUTH_CLIENT_ID: z.string().min(1).optional(),
  KAFKA_SASL_OAUTH_CLIENT_SECRET: z.string().min(1).optional(),
  KAFKA_SASL_OAUTH_CLIENT_SECRET_FILE: file.optional(),
  KAFKA_SASL_OAUTH_CLIENT_AUTH_METHOD: z
    .enum(CLIENT_SECRET_METHODS, { error: `must be one of ${CLIENT_SECRET_METHODS.join(', ')}` })
    .optional(),
  KAFKA_SASL_OAUTH_PRIVATE_KEY_FILE: file.optional(),
  KAFKA_SASL_OAUTH_KEY_ID: z.string().min(1).optional(),
  KAFKA_SASL_OAUTH_SCOPE: z
    .string()
    .regex(
      /^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/,
      'must be space-separated scope tokens (RFC 6749 §3.3)',
    )
    .optional(),
};

type KafkaSecurityEnvironment = z.infer<z.ZodObject<typeof kafkaSecurityFields>>;

const TLS_SETTINGS = ['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE'] as const;
const SCRAM_SETTINGS = ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD', 'KAFKA_SASL_PASSWORD_FILE'] as const;
const OAUTH_SECRET_SETTINGS = [
  'KAFKA_SASL_OAUTH_CLIENT_SECRET',
  'KAFKA_SASL_OAUTH_CLIENT_SECRET_FILE',
  'KAFKA_SASL_OAUTH_CLIENT_AUTH_METHOD',
] as const;
const OAUTH_KEY_SETTINGS = ['KAFKA_SASL_OAUTH_PRIVATE_KEY_FILE', 'KAFKA_SASL_OAUTH_KEY_ID'] as const;
const OAUTH_SETTINGS = [
  'KAFKA_SASL_OAUTH_TOKEN_URL',
  'KAFKA_SASL_OAUTH_CLIENT_ID',
  ...OAUTH_SECRET_SETTINGS,
  ...OAUTH_KEY_SETTINGS,
  'KAFKA_SASL_OAUTH_SCOPE',
] as const;
const SASL_SETTINGS = [...SCRAM_SETTINGS, ...OAUTH_SETTINGS] as const;

/**
 * The combinations that cannot work. A setting the chosen protocol or mechanism would ignore is
 * an error too: a CA file or a password set for PLAINTEXT means the protocol was forgotten. An
 * http:// token endpoint would carry the client's secret in the clear: refused unless
 * `allowInsecureHttp` (ALLOW_INSECURE_HTTP=true, a test bench).
 */
export function kafkaSecurityProblems(
  env: KafkaSecurityEnvironment,
  options: { allowInsecureHttp?: boolean } = {},
): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  const protocol = env.KAFKA_SECURITY_PROTOCOL;
  const mechanism = env.KAFKA_SASL_MECHANISM;
  const ignored = (names: readonly (keyof KafkaSecurityEnvironment)[], usedWith: string, but: string) => {
    for (const name of names.filter((n) => env[n] !== undefined)) {
      problems.push({ path: name, message: `is only used with ${usedWith}, but ${but}` });
    }
  };
  const protocolIs = `KAFKA_SECURITY_PROTOCOL=${protocol}`;
  if (protocol === 'PLAINTEXT') ignored(TLS_SETTINGS, 'KAFKA_SECURITY_PROTOCOL=SSL or SASL_SSL', protocolIs);
  if (protocol !== 'SASL_SSL') ignored(SASL_SETTINGS, 'KAFKA_SECURITY_PROTOCOL=SASL_SSL', protocolIs);
  else if (mechanism === 'oauthbearer') {
    ignored(SCRAM_SETTINGS, 'KAFKA_SASL_MECHANISM=scram-sha-512', 'KAFKA_SASL_MECHANISM=oauthbearer');
  } else ignored(OAUTH_SETTINGS, 'KAFKA_SASL_MECHANISM=oauthbearer', `KAFKA_SASL_MECHANISM=${mechanism}`);
  if ((env.KAFKA_SSL_CERT_FILE === undefined) !== (env.KAFKA_SSL_KEY_FILE === undefined)) {
    problems.push({
      path: env.KAFKA_SSL_CERT_FILE === undefined ? 'KAFKA_SSL_CERT_FILE' : 'KAFKA_SSL_KEY_FILE',
      message: 'a client certificate needs both KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE',
    });
  }
  if (protocol === 'SASL_SSL' && mechanism === 'oauthbearer') problems.push(...oauthProblems(env, options));
  if (protocol === 'SASL_SSL' && mechanism === 'scram-sha-512') {
    if (env.KAFKA_SASL_USERNAME === undefined) {
      problems.push({ path: 'KAFKA_SASL_USERNAME', message: 'KAFKA_SECURITY_PROTOCOL=SASL_SSL needs a username' });
    }
    if ((env.KAFKA_SASL_PASSWORD === undefined) === (env.KAFKA_SASL_PASSWORD_FILE === undefined)) {
      problems.push({
        path: 'KAFKA_SASL_PASSWORD',
        message:
          'KAFKA_SECURITY_PROTOCOL=SASL_SSL needs exactly one of KAFKA_SASL_PASSWORD and KAFKA_SASL_PASSWORD_FILE',
      });
    }
  }
  return problems;
}

/** KAFKA_SASL_MECHANISM=oauthbearer: a token endpoint, a client id and exactly one credential. */
function oauthProblems(
  env: KafkaSecurityEnvironment,
  options: { allowInsecureHttp?: boolean },
): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  const needs = (name: 'KAFKA_SASL_OAUTH_TOKEN_URL' | 'KAFKA_SASL_OAUTH_CLIENT_ID') => {
    if (env[name] === undefined)
      problems.push({ path: name, message: `KAFKA_SASL_MECHANISM=oauthbearer needs ${name}` });
  };
  needs('KAFKA_SASL_OAUTH_TOKEN_URL');
  needs('KAFKA_SASL_OAUTH_CLIENT_ID');
  const credentials = [
    'KAFKA_SASL_OAUTH_CLIENT_SECRET',
    'KAFKA_SASL_OAUTH_CLIENT_SECRET_FILE',
    'KAFKA_SASL_OAUTH_PRIVATE_KEY_FILE',
  ] as const;
  if (credentials.filter((name) => env[name] !== undefined).length !== 1) {
    problems.push({
      path: 'KAFKA_SASL_OAUTH_CLIENT_SECRET',
      message: `KAFKA_SASL_MECHANISM=oauthbearer needs exactly one of ${credentials.join(', ')}`,
    });
  } else if (env.KAFKA_SASL_OAUTH_PRIVATE_KEY_FILE !== undefined) {
    for (const name of OAUTH_SECRET_SETTINGS.filter((n) => env[n] !== undefined)) {
      problems.push({
        path: name,
        message: 'is only used with a client secret, not KAFKA_SASL_OAUTH_PRIVATE_KEY_FILE',
      });
    }
  } else if (env.KAFKA_SASL_OAUTH_KEY_ID !== undefined) {
    problems.push({
      path: 'KAFKA_SASL_OAUTH_KEY_ID',
      message: 'is only used with KAFKA_SASL_OAUTH_PRIVATE_KEY_FILE, not a client secret',
    });
  }
  if (!options.allowInsecureHttp && env.KAFKA_SASL_OAUTH_TOKEN_URL?.startsWith('http:')) {
    problems.push({
      path: 'KAFKA_SASL_OAUTH_TOKEN_URL',
      message:
        'is http://, so the client credentials would cross the network in the clear; use https, or set ALLOW_INSECURE_HTTP=true on a test bench',
    });
  }
  return problems;
}

function oauthClient(env: KafkaSecurityEnvironment): KafkaOAuthClient {
  const client = {
    tokenUrl: env.KAFKA_SASL_OAUTH_TOKEN_URL!,
    clientId: env.KAFKA_SASL_OAUTH_CLIENT_ID!,
    ...(env.KAFKA_SASL_OAUTH_SCOPE === undefined ? {} : { scope: env.KAFKA_SASL_OAUTH_SCOPE }),
  };
  if (env.KAFKA_SASL_OAUTH_PRIVATE_KEY_FILE !== undefined) {
    return {
      kind: 'private-key-jwt',
      ...client,
      privateKeyFile: env.KAFKA_SASL_OAUTH_PRIVATE_KEY_FILE,
      ...(env.KAFKA_SASL_OAUTH_KEY_ID === undefined ? {} : { keyId: env.KAFKA_SASL_OAUTH_KEY_ID }),
    };
  }
  return {
    kind: 'client-credentials',
    ...client,
    clientSecret:
      env.KAFKA_SASL_OAUTH_CLIENT_SECRET_FILE !== undefined
        ? { file: env.KAFKA_SASL_OAUTH_CLIENT_SECRET_FILE }
        : { value: env.KAFKA_SASL_OAUTH_CLIENT_SECRET! },
    method: env.KAFKA_SASL_OAUTH_CLIENT_AUTH_METHOD ?? 'client_secret_basic',
  };
}

/** The validated settings as one value; call only when kafkaSecurityProblems found none. */
export function kafkaSecurity(env: KafkaSecurityEnvironment): KafkaSecurity {
  const tls: KafkaTlsFiles = {
    ...(env.KAFKA_SSL_CA_FILE ? { caFile: env.KAFKA_SSL_CA_FILE } : {}),
    ...(env.KAFKA_SSL_CERT_FILE && env.KAFKA_SSL_KEY_FILE
      ? { clientCertificate: { certFile: env.KAFKA_SSL_CERT_FILE, keyFile: env.KAFKA_SSL_KEY_FILE } }
      : {}),
  };
  switch (env.KAFKA_SECURITY_PROTOCOL) {
    case 'PLAINTEXT':
      return { protocol: 'PLAINTEXT' };
    case 'SSL':
      return { protocol: 'SSL', tls };
    case 'SASL_SSL':
      if (env.KAFKA_SASL_MECHANISM === 'oauthbearer') {
        return { protocol: 'SASL_SSL', tls, sasl: { mechanism: 'oauthbearer', client: oauthClient(env) } };
      }
      return {
        protocol: 'SASL_SSL',
        tls,
        sasl: {
          mechanism: 'scram-sha-512',
          username: env.KAFKA_SASL_USERNAME!,
          password: env.KAFKA_SASL_PASSWORD_FILE
            ? { file: env.KAFKA_SASL_PASSWORD_FILE }
            : { value: env.KAFKA_SASL_PASSWORD! },
        },
      };
  }
}
