import type { KafkaSecurity } from '@app/config';
import { AccessRefusedError } from '@app/errors';
import {
  KafkaJSConnectionError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSSASLAuthenticationError,
} from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KafkaAccessError, kafkaAccessRefusal } from './kafka-access.js';
import type { KafkaConnection } from './kafka-connection.js';

// kafkajs' types declare no constructor arguments, but the class needs its message.
const SaslAuthenticationError = KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error;

/** The errors as kafkajs 2.2 raised them against the real broker (test/integration/kafka-security.spec.ts). */
const afterRetries = (inner: Error) => new KafkaJSNumberOfRetriesExceeded(inner, { retryCount: 0, retryTime: 0 });
const socketError = (message: string, code: string) =>
  afterRetries(new KafkaJSConnectionError(`Connection error: ${message}`, { code }));
const closedConnection = () =>
  afterRetries(
    Object.assign(new KafkaJSConnectionError('Closed connection'), { name: 'KafkaJSConnectionClosedError' }),
  );

const connection = (security: KafkaSecurity): KafkaConnection => ({
  brokers: ['127.0.0.1:19094'],
  clientId: 'worker',
  security,
  secrets: {},
});
const saslSsl = connection({
  protocol: 'SASL_SSL',
  tls: { caFile: '/tls/ca.pem' },
  sasl: { mechanism: 'scram-sha-512', username: 'triage', password: { file: '/secrets/password' } },
});
const mtls = connection({
  protocol: 'SSL',
  tls: { caFile: '/tls/ca.pem', clientCertificate: { certFile: '/tls/c.crt', keyFile: '/tls/c.key' } },
});
const plaintext = connection({ protocol: 'PLAINTEXT' });

const oauth = (client: Extract<KafkaSecurity, { protocol: 'SASL_SSL' }>['sasl'] & { mechanism: 'oauthbearer' }) =>
  connection({ protocol: 'SASL_SSL', tls: { caFile: '/tls/ca.pem' }, sasl: client });
const endpointRefused = (code: string) =>
  afterRetries(
    new AccessRefusedError(`the token endpoint https://idp.example refused client triage-kafka: ${code}`, 401),
  );

describe('kafkaAccessRefusal', () => {
  it('names the username and the password setting when SASL authentication fails, never the password', () => {
    const refused = kafkaAccessRefusal(
      new SaslAuthenticationError('SASL SCRAM SHA512 authentication failed: invalid credentials'),
      saslSsl,
      { fresh: false },
    );
    expect(refused).toBeInstanceOf(KafkaAccessError);
    expect(refused).toMatchObject({
      refusal: 'authentication',
      setting: 'KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD_FILE',
    });
    expect(refused?.message).toBe(
      'Kafka refused the SASL credentials of KAFKA_SASL_USERNAME=triage (SCRAM-SHA-512); check KAFKA_SASL_PASSWORD_FILE',
    );
  });

  it('points at KAFKA_SSL_CA_FILE when the broker certificate does not verify', () => {
    const refused = kafkaAccessRefusal(
      socketError('unable to verify the first certificate', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'),
      saslSsl,
      { fresh: true },
    );
    expect(refused).toMatchObject({ refusal: 'untrusted-certificate', setting: 'KAFKA_SSL_CA_FILE' });
    expect(refused?.message).toMatch(/not signed by KAFKA_SSL_CA_FILE=\/tls\/ca\.pem .*check KAFKA_SSL_CA_FILE$/);
  });

  it('says the system CAs were used when no CA file is set', () => {
    const refused = kafkaAccessRefusal(
      socketError('self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN'),
      connection({ protocol: 'SSL', tls: {} }),
      { fresh: true },
    );
    expect(refused?.message).toMatch(/the system CAs \(KAFKA_SSL_CA_FILE is not set\)/);
  });

  it('points at KAFKA_BROKERS when the certificate names another host', () => {
    const refused = kafkaAccessRefusal(
      socketError('Hostname/IP does not match', 'ERR_TLS_CERT_ALTNAME_INVALID'),
      mtls,
      {
        fresh: true,
      },
    );
    expect(refused).toMatchObject({ refusal: 'untrusted-certificate', setting: 'KAFKA_BROKERS' });
  });

  it('asks for a client certificate when a mutual-TLS listener refuses the handshake', () => {
    const alert = socketError('ssl/tls alert bad certificate', 'ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE');
    expect(kafkaAccessRefusal(alert, connection({ protocol: 'SSL', tls: {} }), { fresh: true })?.message).toMatch(
      /requires a client certificate \(mutual TLS\); set KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE/,
    );
    expect(kafkaAccessRefusal(alert, mtls, { fresh: true })).toMatchObject({
      refusal: 'client-certificate',
      message: expect.stringMatching(/refused the client certificate KAFKA_SSL_CERT_FILE=\/tls\/c\.crt/),
    });
  });

  it('recognises a listener of another protocol', () => {
    const mismatch = { refusal: 'security-protocol', setting: 'KAFKA_SECURITY_PROTOCOL' };
    // plaintext to a TLS listener: the broker drops the connection without an answer
    expect(kafkaAccessRefusal(closedConnection(), plaintext, { fresh: true })).toMatchObject(mismatch);
    // TLS to a plaintext listener
    const reset = socketError(
      'Client network socket disconnected before secure TLS connection was established',
      'ECONNRESET',
    );
    expect(kafkaAccessRefusal(reset, mtls, { fresh: true })).toMatchObject(mismatch);
    // SASL to a listener without SASL
    const illegal = Object.assign(new KafkaJSProtocolError('Request is not valid given the current SASL state'), {
      type: 'ILLEGAL_SASL_STATE',
    });
    expect(kafkaAccessRefusal(illegal, saslSsl, { fresh: false })).toMatchObject(mismatch);
  });

  it('leaves a broker that is starting or restarting to the retries', () => {
    expect(kafkaAccessRefusal(socketError('connect ECONNREFUSED', 'ECONNREFUSED'), saslSsl, { fresh: true })).toBe(
      undefined,
    );
    // A closed connection after start-up may be a broker shutting down.
    expect(kafkaAccessRefusal(closedConnection(), plaintext, { fresh: false })).toBe(undefined);
    expect(kafkaAccessRefusal(new Error('The coordinator is loading'), plaintext, { fresh: false })).toBe(undefined);
  });

  describe('OAUTHBEARER', () => {
    const withSecretFile = oauth({
      mechanism: 'oauthbearer',
      client: {
        kind: 'client-credentials',
        tokenUrl: 'https://idp.example/oauth2/token',
        clientId: 'triage-kafka',
        clientSecret: { file: '/secrets/kafka' },
        method: 'client_secret_basic',
      },
    });
    const withKey = oauth({
      mechanism: 'oauthbearer',
      client: {
        kind: 'private-key-jwt',
        tokenUrl: 'https://idp.example/oauth2/token',
        clientId: 'triage-kafka',
        privateKeyFile: '/keys/kafka.pem',
      },
    });
    it('a client the token endpoint refuses: names the client id and its credential setting', () => {
      expect(kafkaAccessRefusal(endpointRefused('invalid_client'), withSecretFile, { fresh: true })).toMatchObject({
        refusal: 'authentication',
        setting: 'KAFKA_SASL_OAUTH_CLIENT_ID, KAFKA_SASL_OAUTH_CLIENT_SECRET_FILE',
        message:
          'the token endpoint https://idp.example refused client triage-kafka: invalid_client (KAFKA_SASL_MECHANISM=oauthbearer); check KAFKA_SASL_OAUTH_CLIENT_ID and KAFKA_SASL_OAUTH_CLIENT_SECRET_FILE',
      });
      expect(kafkaAccessRefusal(endpointRefused('invalid_client'), withKey, { fresh: true })?.setting).toBe(
        'KAFKA_SASL_OAUTH_CLIENT_ID, KAFKA_SASL_OAUTH_PRIVATE_KEY_FILE',
      );
      expect(kafkaAccessRefusal(endpointRefused('invalid_scope'), withKey, { fresh: true })?.setting).toBe(
        'KAFKA_SASL_OAUTH_SCOPE',
      );
    });

    it('a token the broker refuses: names the token endpoint, the client and the scope', () => {
      const refused = kafkaAccessRefusal(
        afterRetries(
          new SaslAuthenticationError(
            'SASL OAUTHBEARER authentication failed: the broker refused the token (invalid_token)',
          ),
        ),
        withSecretFile,
        { fresh: true },
      );
      expect(refused).toMatchObject({
        refusal: 'authentication',
        setting: 'KAFKA_SASL_OAUTH_TOKEN_URL, KAFKA_SASL_OAUTH_CLIENT_ID, KAFKA_SASL_OAUTH_SCOPE',
      });
      expect(refused?.message).toMatch(
        /^Kafka refused the OAUTHBEARER token of KAFKA_SASL_OAUTH_CLIENT_ID=triage-kafka from/,
      );
    });

    it('an unreachable token endpoint is left to the retries', () => {
      const unreachable = new Error('the token endpoint https://idp.example is unreachable (ECONNREFUSED)');
      expect(kafkaAccessRefusal(afterRetries(unreachable), withSecretFile, { fresh: true })).toBe(undefined);
    });
  });
});
