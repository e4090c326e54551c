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
    expect(
      security.protocol === 'SASL_SSL' && security.sasl.mechanism === 'scram-sha-512' && security.sasl.password,
    ).toEqual({
      value: 'secret',
    });
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

describe('Kafka SASL/OAUTHBEARER settings', () => {
  const oauth = {
    KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
    KAFKA_SASL_MECHANISM: 'oauthbearer',
    KAFKA_SASL_OAUTH_TOKEN_URL: 'https://idp.hospital.example/oauth2/token',
    KAFKA_SASL_OAUTH_CLIENT_ID: 'triage-kafka',
  };

  it('reads a client secret file, the auth method and a scope', () => {
    const config = parseConfig({
      ...oauth,
      KAFKA_SSL_CA_FILE: '/tls/ca.pem',
      KAFKA_SASL_OAUTH_CLIENT_SECRET_FILE: '/secrets/kafka-client-secret',
      KAFKA_SASL_OAUTH_CLIENT_AUTH_METHOD: 'client_secret_post',
      KAFKA_SASL_OAUTH_SCOPE: 'kafka',
    });
    expect(config.kafka.security).toEqual({
      protocol: 'SASL_SSL',
      tls: { caFile: '/tls/ca.pem' },
      sasl: {
        mechanism: 'oauthbearer',
        client: {
          kind: 'client-credentials',
          tokenUrl: 'https://idp.hospital.example/oauth2/token',
          clientId: 'triage-kafka',
          scope: 'kafka',
          clientSecret: { file: '/secrets/kafka-client-secret' },
          method: 'client_secret_post',
        },
      },
    });
  });

  it('reads a private key (private_key_jwt) with its key id; client_secret_basic is the secret default', () => {
    const jwt = parseConfig({
      ...oauth,
      KAFKA_SASL_OAUTH_PRIVATE_KEY_FILE: '/keys/k.pem',
      KAFKA_SASL_OAUTH_KEY_ID: 'k1',
    });
    expect(jwt.kafka.security).toMatchObject({
      sasl: {
        mechanism: 'oauthbearer',
        client: { kind: 'private-key-jwt', privateKeyFile: '/keys/k.pem', keyId: 'k1' },
      },
    });
    const secret = parseConfig({ ...oauth, KAFKA_SASL_OAUTH_CLIENT_SECRET: 's' });
    expect(secret.kafka.security).toMatchObject({
      sasl: { client: { kind: 'client-credentials', clientSecret: { value: 's' }, method: 'client_secret_basic' } },
    });
  });

  it('needs the token URL, the client id and exactly one credential', () => {
    expect(problemsOf({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'oauthbearer' })).toEqual([
      'KAFKA_SASL_OAUTH_TOKEN_URL: KAFKA_SASL_MECHANISM=oauthbearer needs KAFKA_SASL_OAUTH_TOKEN_URL',
      'KAFKA_SASL_OAUTH_CLIENT_ID: KAFKA_SASL_MECHANISM=oauthbearer needs KAFKA_SASL_OAUTH_CLIENT_ID',
      expect.stringMatching(
        /^KAFKA_SASL_OAUTH_CLIENT_SECRET: .*exactly one of KAFKA_SASL_OAUTH_CLIENT_SECRET, KAFKA_SASL_OAUTH_CLIENT_SECRET_FILE, KAFKA_SASL_OAUTH_PRIVATE_KEY_FILE$/,
      ),
    ]);
    expect(
      problemsOf({ ...oauth, KAFKA_SASL_OAUTH_CLIENT_SECRET: 's', KAFKA_SASL_OAUTH_PRIVATE_KEY_FILE: '/k.pem' }),
    ).toEqual([expect.stringMatching(/exactly one of/)]);
  });

  it('refuses settings of the other credential or mechanism, and OAuth settings without it', () => {
    expect(
      problemsOf({
        ...oauth,
        KAFKA_SASL_OAUTH_PRIVATE_KEY_FILE: '/k.pem',
        KAFKA_SASL_OAUTH_CLIENT_AUTH_METHOD: 'client_secret_post',
        KAFKA_SASL_USERNAME: 'triage',
      }),
    ).toEqual([
      'KAFKA_SASL_USERNAME: is only used with KAFKA_SASL_MECHANISM=scram-sha-512, but KAFKA_SASL_MECHANISM=oauthbearer',
      'KAFKA_SASL_OAUTH_CLIENT_AUTH_METHOD: is only used with a client secret, not KAFKA_SASL_OAUTH_PRIVATE_KEY_FILE',
    ]);
    expect(problemsOf({ ...oauth, KAFKA_SASL_OAUTH_CLIENT_SECRET: 's', KAFKA_SASL_OAUTH_KEY_ID: 'k1' })).toEqual([
      'KAFKA_SASL_OAUTH_KEY_ID: is only used with KAFKA_SASL_OAUTH_PRIVATE_KEY_FILE, not a client secret',
    ]);
    expect(problemsOf({ ...sasl, KAFKA_SASL_PASSWORD: 'x', KAFKA_SASL_OAUTH_CLIENT_ID: 'c' })).toEqual([
      'KAFKA_SASL_OAUTH_CLIENT_ID: is only used with KAFKA_SASL_MECHANISM=oauthbearer, but KAFKA_SASL_MECHANISM=scram-sha-512',
    ]);
    expect(problemsOf({ KAFKA_SASL_OAUTH_TOKEN_URL: 'https://idp/token' })).toEqual([
      'KAFKA_SASL_OAUTH_TOKEN_URL: is only used with KAFKA_SECURITY_PROTOCOL=SASL_SSL, but KAFKA_SECURITY_PROTOCOL=PLAINTEXT',
    ]);
  });

  it('refuses an http:// token endpoint unless ALLOW_INSECURE_HTTP=true', () => {
    const plain = { ...oauth, KAFKA_SASL_OAUTH_TOKEN_URL: 'http://idp/token', KAFKA_SASL_OAUTH_CLIENT_SECRET: 's' };
    expect(problemsOf(plain)).toEqual([
      expect.stringMatching(/^KAFKA_SASL_OAUTH_TOKEN_URL: is http:\/\/, so the client/),
    ]);
    expect(problemsOf({ ...plain, ALLOW_INSECURE_HTTP: 'true' })).toEqual([]);
    expect(problemsOf({ ...plain, KAFKA_SASL_OAUTH_TOKEN_URL: 'ftp://idp/token' })).toEqual([
      expect.stringMatching(/^KAFKA_SASL_OAUTH_TOKEN_URL: must be an http\(s\) URL/),
    ]);
  });

  it('never repeats a client secret in its problems', () => {
    const problems = problemsOf({ KAFKA_SASL_OAUTH_CLIENT_SECRET: 'hunter2-client-secret' });
    expect(problems.join('\n')).not.toContain('hunter2-client-secret');
  });
});
