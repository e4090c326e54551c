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
