import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './app-config.js';

/** The problems parseConfig reports for an environment, one string per variable. */
function problemsOf(environment: Record<string, string>): string[] {
  try {
    parseConfig(environment);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

const sasl = { KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_USERNAME: 'triage' };

describe('Kafka security settings', () => {
  it('defaults to PLAINTEXT', () => {
    expect(parseConfig({}).kafka.security).toEqual({ protocol: 'PLAINTEXT' });
  });

  it('reads SASL_SSL with SCRAM-SHA-512, a CA file and a password file', () => {
    const config = parseConfig({
      ...sasl,
      KAFKA_SSL_CA_FILE: '/etc/kafka/ca.pem',
      KAFKA_SASL_PASSWORD_FILE: '/var/run/secrets/kafka/password',
    });
    expect(config.kafka.security).toEqual({
      protocol: 'SASL_SSL',
      tls: { caFile: '/etc/kafka/ca.pem' },
      sasl: { mechanism: 'scram-sha-512', username: 'triage', password: { file: '/var/run/secrets/kafka/password' } },
    });
  });

  it('reads SSL with a client certificate (mutual TLS)', () => {
    const config = parseConfig({
      KAFKA_SECURITY_PROTOCOL: 'SSL',
      KAFKA_SSL_CERT_FILE: '/tls/client.crt',
      KAFKA_SSL_KEY_FILE: '/tls/client.key',
    });
    expect(config.kafka.security).toEqual({
      protocol: 'SSL',
      tls: { clientCertificate: { certFile: '/tls/client.crt', keyFile: '/tls/client.key' } },
    });
  });

  it('takes an inline password too', () => {
    const security = parseConfig({ ...sasl, KAFKA_SASL_PASSWORD: 'secret' }).kafka.security;
    expect(security.protocol === 'SASL_SSL' && security.sasl.password).toEqual({ value: 'secret' });
  });

  it('refuses an unknown protocol or mechanism, naming the variable', () => {
    expect(problemsOf({ KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT' })).toEqual([
      expect.stringMatching(/^KAFKA_SECURITY_PROTOCOL: must be one of PLAINTEXT, SSL, SASL_SSL/),
    ]);
    expect(problemsOf({ ...sasl, KAFKA_SASL_PASSWORD: 'x', KAFKA_SASL_MECHANISM: 'plain' })).toEqual([
      expect.stringMatching(/^KAFKA_SASL_MECHANISM: must be one of scram-sha-512/),
    ]);
  });

  it('needs a username and exactly one of the password and the password file for SASL_SSL', () => {
    expect(problemsOf({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' })).toEqual([
      expect.stringMatching(/^KAFKA_SASL_USERNAME: /),
      expect.stringMatching(/^KAFKA_SASL_PASSWORD: .*exactly one of KAFKA_SASL_PASSWORD and KAFKA_SASL_PASSWORD_FILE/),
    ]);
    expect(problemsOf({ ...sasl, KAFKA_SASL_PASSWORD: 'x', KAFKA_SASL_PASSWORD_FILE: '/p' })).toEqual([
      expect.stringMatching(/exactly one of KAFKA_SASL_PASSWORD and KAFKA_SASL_PASSWORD_FILE/),
    ]);
  });

  it('needs both halves of a client certificate', () => {
    expect(problemsOf({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CERT_FILE: '/c' })).toEqual([
      expect.stringMatching(/^KAFKA_SSL_KEY_FILE: .*both KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE/),
    ]);
  });

  it('refuses TLS or SASL settings that the chosen protocol would ignore (a forgotten protocol)', () => {
    expect(problemsOf({ KAFKA_SSL_CA_FILE: '/ca.pem', KAFKA_SASL_USERNAME: 'u' })).toEqual([
      expect.stringMatching(/^KAFKA_SSL_CA_FILE: is only used with KAFKA_SECURITY_PROTOCOL=SSL or SASL_SSL/),
      expect.stringMatching(/^KAFKA_SASL_USERNAME: is only used with KAFKA_SECURITY_PROTOCOL=SASL_SSL/),
    ]);
    expect(problemsOf({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SASL_PASSWORD_FILE: '/p' })).toEqual([
      expect.stringMatching(/^KAFKA_SASL_PASSWORD_FILE: is only used with KAFKA_SECURITY_PROTOCOL=SASL_SSL/),
    ]);
  });

  it('never repeats a password in its problems', () => {
    const problems = problemsOf({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SASL_PASSWORD: 'hunter2-secret' });
    expect(problems.join('\n')).not.toContain('hunter2-secret');
  });
});
