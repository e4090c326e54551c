import { z } from 'zod';
import type { SecretSource } from './secret-source.js';

/**
 * How the worker authenticates to Kafka and what it trusts: the KAFKA_SECURITY_PROTOCOL
 * family of settings. Files are named here, never read (adapters touch the filesystem:
 * @app/messaging reads them once at start-up).
 */

export const KAFKA_SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_SSL'] as const;
export type KafkaSecurityProtocol = (typeof KAFKA_SECURITY_PROTOCOLS)[number];

/** SASL mechanisms the worker speaks. OAUTHBEARER (a token provider) would be added here. */
export const KAFKA_SASL_MECHANISMS = ['scram-sha-512'] as const;
export type KafkaSaslMechanism = (typeof KAFKA_SASL_MECHANISMS)[number];

/** TLS trust and, for mutual TLS, the client's own certificate; all PEM files. */
export interface KafkaTlsFiles {
  /** A CA bundle to trust instead of the system's CAs (a hospital's own CA). */
  caFile?: string;
  clientCertificate?: { certFile: string; keyFile: string };
}

export interface KafkaSasl {
  mechanism: KafkaSaslMechanism;
  username: string;
  password: SecretSource;
}

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
};

type KafkaSecurityEnvironment = z.infer<z.ZodObject<typeof kafkaSecurityFields>>;

const TLS_SETTINGS = ['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE'] as const;
const SASL_SETTINGS = ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD', 'KAFKA_SASL_PASSWORD_FILE'] as const;

/**
 * The combinations that cannot work. A setting the chosen protocol would ignore is an error
 * too: a CA file or a password set for PLAINTEXT means the protocol was forgotten.
 */
export function kafkaSecurityProblems(env: KafkaSecurityEnvironment): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  const protocol = env.KAFKA_SECURITY_PROTOCOL;
  const ignored = (names: readonly (keyof KafkaSecurityEnvironment)[], usedWith: string) => {
    for (const name of names.filter((n) => env[n] !== undefined)) {
      problems.push({
        path: name,
        message: `is only used with ${usedWith}, but KAFKA_SECURITY_PROTOCOL=${protocol}`,
      });
    }
  };
  if (protocol === 'PLAINTEXT') ignored(TLS_SETTINGS, 'KAFKA_SECURITY_PROTOCOL=SSL or SASL_SSL');
  if (protocol !== 'SASL_SSL') ignored(SASL_SETTINGS, 'KAFKA_SECURITY_PROTOCOL=SASL_SSL');
  if ((env.KAFKA_SSL_CERT_FILE === undefined) !== (env.KAFKA_SSL_KEY_FILE === undefined)) {
    problems.push({
      path: env.KAFKA_SSL_CERT_FILE === undefined ? 'KAFKA_SSL_CERT_FILE' : 'KAFKA_SSL_KEY_FILE',
      message: 'a client certificate needs both KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE',
    });
  }
  if (protocol === 'SASL_SSL') {
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
      return {
        protocol: 'SASL_SSL',
        tls,
        sasl: {
          mechanism: env.KAFKA_SASL_MECHANISM,
          username: env.KAFKA_SASL_USERNAME!,
          password: env.KAFKA_SASL_PASSWORD_FILE
            ? { file: env.KAFKA_SASL_PASSWORD_FILE }
            : { value: env.KAFKA_SASL_PASSWORD! },
        },
      };
  }
}
