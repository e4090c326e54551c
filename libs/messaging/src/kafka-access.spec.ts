import type { KafkaSecurity } from '@app/config';
import { AccessRefusedError } from '@app/errors';
import {
  KafkaJSConnectionError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSSASLAuthenticationError,
} from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import {
  authorizationRefusal,
  KafkaAccessError,
  kafkaAccessDenials,
  kafkaAccessRefusal,
  kafkajsCluster,
  kafkaPrincipal,
  workerAccessNeeds,
  type KafkajsBroker,
  type KafkajsCluster,
} from './kafka-access.js';
import { ACL_OPERATIONS, OPERATIONS_UNKNOWN, type KafkaDenial } from './kafka-authorization.js';
import { createKafkaClient, type KafkaConnection } from './kafka-connection.js';
import type { KafkaLog } from './kafka-log.js';

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

const bits = (...ops: (keyof typeof ACL_OPERATIONS)[]) => ops.reduce((f, op) => f | (1 << ACL_OPERATIONS[op]), 0);
const allowedAll = (name: string) => ({
  name,
  errorCode: 0,
  authorizedOperations: bits('READ', 'WRITE', 'DESCRIBE'),
});
const everyTopic = ['studies', 'completed', 'failed', 'dead'].map(allowedAll);
const protocolError = (type: string) => Object.assign(new KafkaJSProtocolError(type), { type });

describe('ACL denials', () => {
  const needs = workerAccessNeeds({
    groupId: 'worker',
    topics: { studyAvailable: 'studies', triageCompleted: 'completed', triageFailed: 'failed', deadLetter: 'dead' },
  });
  const topicDenied: KafkaDenial = {
    kind: 'topic',
    setting: 'KAFKA_TOPIC_STUDY_AVAILABLE',
    name: 'studies',
    needs: ['DESCRIBE', 'READ'],
    reason: 'TOPIC_AUTHORIZATION_FAILED',
    describe: true,
  };
  const writeMissing: KafkaDenial = {
    kind: 'topic',
    setting: 'KAFKA_TOPIC_TRIAGE_COMPLETED',
    name: 'completed',
    needs: ['WRITE'],
    reason: 'allowed: DESCRIBE',
    describe: false,
  };

  it('one line naming the setting, the principal, the broker error and the ACLs to ask for', () => {
    const refused = authorizationRefusal([topicDenied], saslSsl.security);
    expect(refused).toBeInstanceOf(KafkaAccessError);
    expect(refused).toMatchObject({
      refusal: 'authorization',
      setting: 'KAFKA_TOPIC_STUDY_AVAILABLE, KAFKA_SASL_USERNAME',
      message:
        'Kafka denies KAFKA_SASL_USERNAME=triage access to KAFKA_TOPIC_STUDY_AVAILABLE=studies (TOPIC_AUTHORIZATION_FAILED); ask for ACLs allowing Describe and Read on KAFKA_TOPIC_STUDY_AVAILABLE',
    });
  });

  it('every denial in the one line', () => {
    expect(authorizationRefusal([topicDenied, writeMissing], mtls.security)).toMatchObject({
      setting: 'KAFKA_TOPIC_STUDY_AVAILABLE, KAFKA_TOPIC_TRIAGE_COMPLETED, KAFKA_SSL_CERT_FILE',
      message:
        'Kafka denies the client certificate KAFKA_SSL_CERT_FILE=/tls/c.crt access to KAFKA_TOPIC_STUDY_AVAILABLE=studies (TOPIC_AUTHORIZATION_FAILED), ' +
        'Write on KAFKA_TOPIC_TRIAGE_COMPLETED=completed (allowed: DESCRIBE); ' +
        'ask for ACLs allowing Describe and Read on KAFKA_TOPIC_STUDY_AVAILABLE, Write on KAFKA_TOPIC_TRIAGE_COMPLETED',
    });
  });

  it('names the principal as the settings make it', () => {
    expect(kafkaPrincipal(plaintext.security)).toEqual({
      setting: 'KAFKA_SECURITY_PROTOCOL',
      text: 'the anonymous client (KAFKA_SECURITY_PROTOCOL=PLAINTEXT)',
    });
    expect(kafkaPrincipal({ protocol: 'SSL', tls: {} }).text).toBe('the anonymous TLS client (no KAFKA_SSL_CERT_FILE)');
    expect(
      kafkaPrincipal({
        protocol: 'SASL_SSL',
        tls: {},
        sasl: {
          mechanism: 'oauthbearer',
          client: {
            kind: 'private-key-jwt',
            tokenUrl: 'https://idp/token',
            clientId: 'triage-kafka',
            privateKeyFile: '/k',
          },
        },
      }),
    ).toEqual({ setting: 'KAFKA_SASL_OAUTH_CLIENT_ID', text: 'KAFKA_SASL_OAUTH_CLIENT_ID=triage-kafka' });
  });

  it("a client's own request refused by an ACL is a refusal too (the consumer's or producer's start)", () => {
    const denied = Object.assign(
      new KafkaJSProtocolError('Not authorized to access group: Group authorization failed'),
      {
        type: 'GROUP_AUTHORIZATION_FAILED',
      },
    );
    expect(kafkaAccessRefusal(afterRetries(denied), saslSsl, { fresh: false })).toMatchObject({
      refusal: 'authorization',
      setting: 'KAFKA_SASL_USERNAME',
      message:
        'Kafka denies KAFKA_SASL_USERNAME=triage a request (GROUP_AUTHORIZATION_FAILED); check the ACLs of its topics and consumer group',
    });
  });

  it("kafkajs 2.2.4's cluster is reachable (else the probe logs that ACLs are not checked)", () => {
    const cluster = kafkajsCluster(createKafkaClient(plaintext, () => undefined, { retries: 0 }));
    expect(cluster).toBeDefined();
    for (const method of ['connect', 'disconnect', 'refreshMetadata', 'findBroker'] as const) {
      expect(typeof cluster?.[method]).toBe('function');
    }
  });

  describe('kafkaAccessDenials (against a stand-in for kafkajs cluster)', () => {
    const versions = { 3: { minVersion: 0, maxVersion: 13 }, 15: { minVersion: 0, maxVersion: 6 } };

    function standIn(options: {
      topics?: { name: string; errorCode: number; authorizedOperations: number }[];
      findCoordinator?: () => Promise<{ coordinator: { nodeId: number } }>;
      group?: { groupId: string; errorCode: number; authorizedOperations: number };
      versions?: KafkajsBroker['versions'];
    }) {
      const sent: number[] = [];
      const broker: KafkajsBroker = {
        versions: options.versions ?? versions,
        connectionPool: {
          send: async <T>(request: { request: { apiKey: number } }) => {
            sent.push(request.request.apiKey);
            return (request.request.apiKey === 3 ? (options.topics ?? []) : [options.group]) as T;
          },
        },
        findGroupCoordinator: options.findCoordinator ?? (async () => ({ coordinator: { nodeId: 1 } })),
      };
      const cluster: KafkajsCluster = {
        connect: async () => undefined,
        disconnect: async () => undefined,
        refreshMetadata: async () => undefined,
        findBroker: async () => broker,
        brokerPool: { seedBroker: broker },
      };
      return { cluster, sent };
    }

    it('nothing denied: Metadata, FindCoordinator, DescribeGroups, no denial', async () => {
      const { cluster, sent } = standIn({
        topics: everyTopic,
        group: { groupId: 'worker', errorCode: 0, authorizedOperations: bits('READ', 'DESCRIBE') },
      });
      const log = vi.fn<KafkaLog>();
      expect(await kafkaAccessDenials(cluster, needs, log, 1000)).toEqual([]);
      expect(sent).toEqual([3, 15]);
      expect(log).not.toHaveBeenCalled();
    });

    it('FindCoordinator refused (no Describe on the group): a group denial, no DescribeGroups', async () => {
      const { cluster, sent } = standIn({
        topics: everyTopic,
        findCoordinator: () => Promise.reject(afterRetries(protocolError('GROUP_AUTHORIZATION_FAILED'))),
      });
      expect(await kafkaAccessDenials(cluster, needs, vi.fn<KafkaLog>(), 1000)).toEqual([
        expect.objectContaining({ setting: 'KAFKA_GROUP_ID', reason: 'GROUP_AUTHORIZATION_FAILED' }),
      ]);
      expect(sent).toEqual([3]);
    });

    it('waits for a coordinator a new cluster has not elected yet, then checks', async () => {
      let calls = 0;
      const { cluster } = standIn({
        topics: everyTopic,
        findCoordinator: async () => {
          if (++calls < 3) throw protocolError('GROUP_COORDINATOR_NOT_AVAILABLE');
          return { coordinator: { nodeId: 1 } };
        },
        group: { groupId: 'worker', errorCode: 0, authorizedOperations: bits('DESCRIBE') },
      });
      expect(await kafkaAccessDenials(cluster, needs, vi.fn<KafkaLog>(), 5000)).toEqual([
        expect.objectContaining({ setting: 'KAFKA_GROUP_ID', needs: ['READ'] }),
      ]);
      expect(calls).toBe(3);
    });

    it('no coordinator in time, or a broker too old to say: logged, left to the clients', async () => {
      const log = vi.fn<KafkaLog>();
      const { cluster } = standIn({
        topics: everyTopic,
        findCoordinator: () => Promise.reject(protocolError('GROUP_COORDINATOR_NOT_AVAILABLE')),
      });
      expect(await kafkaAccessDenials(cluster, needs, log, 0)).toEqual([]);
      expect(log).toHaveBeenCalledWith('warn', expect.stringMatching(/group ACLs not checked/), expect.anything());

      const old = standIn({ versions: { 3: { minVersion: 0, maxVersion: 7 }, 15: { minVersion: 0, maxVersion: 2 } } });
      const oldLog = vi.fn<KafkaLog>();
      expect(await kafkaAccessDenials(old.cluster, needs, oldLog, 0)).toEqual([]);
      expect(old.sent).toEqual([]);
      expect(oldLog.mock.calls.map(([, msg]) => msg)).toEqual([
        'the Kafka broker answers no Metadata v8: topic ACLs not checked at start-up',
        'the Kafka broker answers no DescribeGroups v3: Read on the consumer group not checked',
      ]);
    });

    it('denied topics and group together', async () => {
      const { cluster } = standIn({
        topics: [
          { name: 'studies', errorCode: 29, authorizedOperations: OPERATIONS_UNKNOWN },
          ...['completed', 'failed', 'dead'].map(allowedAll),
        ],
        group: { groupId: 'worker', errorCode: 0, authorizedOperations: bits('DESCRIBE') },
      });
      const denials = await kafkaAccessDenials(cluster, needs, vi.fn<KafkaLog>(), 0);
      expect(denials.map((d) => d.setting)).toEqual(['KAFKA_TOPIC_STUDY_AVAILABLE', 'KAFKA_GROUP_ID']);
    });
  });
});
