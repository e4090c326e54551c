import { readFileSync } from 'node:fs';
import type { KafkaSecurity } from '@app/config';
import { Kafka, logLevel, type KafkaConfig, type LogEntry, type RetryOptions } from 'kafkajs';
import { kafkajsLog, type KafkaLog } from './kafka-log.js';

/**
 * Where the broker is and how to speak to it, with the PEM files and the password file of
 * the security settings read once, at start-up. The one source of every kafkajs client of
 * the worker (consumer, its admin, publisher), so TLS and SASL are set up in one place.
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

/** Reads the files the security settings name; throws KafkaSettingsFileError naming the setting. */
export function openKafkaConnection(settings: {
  brokers: string[];
  clientId: string;
  security: KafkaSecurity;
}): KafkaConnection {
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
  if (security.protocol === 'SASL_SSL') {
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
    // OAUTHBEARER would go here: { mechanism: 'oauthbearer', oauthBearerProvider } with a token source.
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
