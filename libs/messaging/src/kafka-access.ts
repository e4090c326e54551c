import type { KafkaOAuthClient, KafkaSecurity } from '@app/config';
import type { Kafka } from 'kafkajs';
import {
  describeGroupsRequest,
  groupDenial,
  metadataRequest,
  topicDenials,
  type AclOperationName,
  type KafkaAccessNeeds,
  type KafkaDenial,
  type KafkaResourceSetting,
  type RawKafkaRequest,
} from './kafka-authorization.js';
import { createKafkaClient, type KafkaConnection } from './kafka-connection.js';
import type { KafkaLog } from './kafka-log.js';

/**
 * The broker refusing our connection settings: retrying cannot help, so start-up stops at
 * once with a message naming the setting to check (the worker exits 77).
 *
 * - authentication: the SASL username or password is wrong; with OAUTHBEARER, the token endpoint
 *   refused the client (a wrong secret or key, a disabled client, a scope it may not have) or
 *   the broker refused its token (another issuer or audience, no scope);
 * - untrusted-certificate: the broker's certificate does not chain to KAFKA_SSL_CA_FILE
 *   (or to the system's CAs), or does not name the host of KAFKA_BROKERS;
 * - client-certificate: a mutual-TLS listener wants a client certificate it trusts;
 * - security-protocol: the listener speaks another protocol (plaintext to a TLS port, TLS to
 *   a plaintext one, SASL to a listener without it);
 * - authorization: the broker's ACLs deny this principal a topic or the consumer group it is
 *   configured to use (or an operation it needs there: Read, Write).
 */
export type KafkaRefusal =
  'authentication' | 'untrusted-certificate' | 'client-certificate' | 'security-protocol' | 'authorization';

export class KafkaAccessError extends Error {
  constructor(
    readonly refusal: KafkaRefusal,
    /** The setting(s) to check, as an operator would search for them. */
    readonly setting: string,
    message: string,
    cause: unknown,
  ) {
    super(message, { cause });
    this.name = 'KafkaAccessError';
  }
}

/** Node's codes for a server certificate that does not verify against the trusted CAs. */
const UNTRUSTED_CERTIFICATE_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'INVALID_CA',
]);

/** TLS alerts a broker sends when it wants (another) client certificate. */
const CLIENT_CERTIFICATE_ALERT = /ALERT_(BAD_CERTIFICATE|CERTIFICATE_REQUIRED|UNKNOWN_CA|HANDSHAKE_FAILURE)/;

/** kafkajs' names of the protocol's authorization errors (its KafkaJSProtocolError `type`). */
const AUTHORIZATION_FAILED = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
]);

interface ErrorFacts {
  name?: string;
  code?: string;
  type?: string;
  message?: string;
}

/** kafkajs wraps the socket's error (KafkaJSNumberOfRetriesExceeded → KafkaJSConnectionError): every link. */
function errorChain(error: unknown): ErrorFacts[] {
  const chain: ErrorFacts[] = [];
  let link = error as (ErrorFacts & { cause?: unknown; originalError?: unknown }) | undefined;
  while (link && typeof link === 'object' && chain.length < 10) {
    chain.push(link);
    link = (link.cause ?? link.originalError) as typeof link;
  }
  return chain;
}

/**
 * The refusal an error from connecting means, or undefined for anything retrying may fix (a
 * broker still starting). `fresh`: the error came from a first connection's first request, so
 * a connection closed without an answer means the listener speaks another protocol (later, a
 * broker shutting down closes connections too).
 */
export function kafkaAccessRefusal(
  error: unknown,
  connection: KafkaConnection,
  options: { fresh: boolean },
): KafkaAccessError | undefined {
  const { security } = connection;
  const brokers = connection.brokers.join(',');
  const chain = errorChain(error);
  const has = (test: (link: ErrorFacts) => boolean) => chain.find(test);
  const refuse = (refusal: KafkaRefusal, setting: string, message: string) =>
    new KafkaAccessError(refusal, setting, message, error);

  if (security.protocol === 'SASL_SSL' && security.sasl.mechanism === 'oauthbearer') {
    const oauth = oauthRefusal(chain, security.sasl.client);
    if (oauth) return refuse('authentication', oauth.setting, oauth.message);
  }
  if (
    security.protocol === 'SASL_SSL' &&
    security.sasl.mechanism === 'scram-sha-512' &&
    has((l) => l.name === 'KafkaJSSASLAuthenticationError')
  ) {
    const { username, password } = security.sasl;
    const passwordSetting = 'file' in password ? 'KAFKA_SASL_PASSWORD_FILE' : 'KAFKA_SASL_PASSWORD';
    return refuse(
      'authentication',
      `KAFKA_SASL_USERNAME, ${passwordSetting}`,
      `Kafka refused the SASL credentials of KAFKA_SASL_USERNAME=${username} (${security.sasl.mechanism.toUpperCase()}); check ${passwordSetting}`,
    );
  }
  const untrusted = has((l) => l.code !== undefined && UNTRUSTED_CERTIFICATE_CODES.has(l.code));
  if (security.protocol !== 'PLAINTEXT' && untrusted) {
    const trusted = security.tls.caFile
      ? `KAFKA_SSL_CA_FILE=${security.tls.caFile}`
      : 'the system CAs (KAFKA_SSL_CA_FILE is not set)';
    return refuse(
      'untrusted-certificate',
      'KAFKA_SSL_CA_FILE',
      `the certificate of the Kafka broker (${brokers}) is not signed by ${trusted} (${untrusted.code}); check KAFKA_SSL_CA_FILE`,
    );
  }
  if (security.protocol !== 'PLAINTEXT' && has((l) => l.code === 'ERR_TLS_CERT_ALTNAME_INVALID')) {
    return refuse(
      'untrusted-certificate',
      'KAFKA_BROKERS',
      `the certificate of the Kafka broker does not name the host in KAFKA_BROKERS=${brokers}; check KAFKA_BROKERS`,
    );
  }
  if (security.protocol !== 'PLAINTEXT' && has((l) => CLIENT_CERTIFICATE_ALERT.test(l.code ?? ''))) {
    const { clientCertificate } = security.tls;
    return refuse(
      'client-certificate',
      'KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE',
      clientCertificate
        ? `the Kafka broker (${brokers}) refused the client certificate KAFKA_SSL_CERT_FILE=${clientCertificate.certFile}; check KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE`
        : `the Kafka broker (${brokers}) requires a client certificate (mutual TLS); set KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE`,
    );
  }
  // A client's own request refused by an ACL (the probe's checks name the resource; this one,
  // for the clients' start, only the principal).
  const denied = has((l) => AUTHORIZATION_FAILED.has(l.type ?? ''));
  if (denied) {
    const principal = kafkaPrincipal(security);
    return refuse(
      'authorization',
      principal.setting,
      `Kafka denies ${principal.text} a request (${denied.type}); check the ACLs of its topics and consumer group`,
    );
  }
  const mismatch = protocolMismatch(chain, security.protocol, options.fresh);
  if (mismatch) {
    return refuse(
      'security-protocol',
      'KAFKA_SECURITY_PROTOCOL',
      `the Kafka listener at ${brokers} does not speak KAFKA_SECURITY_PROTOCOL=${security.protocol} (${mismatch}); check KAFKA_SECURITY_PROTOCOL and KAFKA_BROKERS`,
    );
  }
  return undefined;
}

/**
 * OAUTHBEARER refusals: the token endpoint's (an AccessRefusedError of @app/credentials, whose
 * message holds the endpoint, the client id and the RFC 6749 error code only) or the broker's.
 * A token endpoint that is unreachable or answers 5xx is not one: the clients retry.
 */
function oauthRefusal(chain: ErrorFacts[], client: KafkaOAuthClient): { setting: string; message: string } | undefined {
  const credential =
    client.kind === 'private-key-jwt'
      ? 'KAFKA_SASL_OAUTH_PRIVATE_KEY_FILE'
      : 'file' in client.clientSecret
        ? 'KAFKA_SASL_OAUTH_CLIENT_SECRET_FILE'
        : 'KAFKA_SASL_OAUTH_CLIENT_SECRET';
  const endpoint = chain.find((l) => l.name === 'AccessRefusedError');
  if (endpoint) {
    const settings = (endpoint.message ?? '').endsWith('invalid_scope')
      ? ['KAFKA_SASL_OAUTH_SCOPE']
      : ['KAFKA_SASL_OAUTH_CLIENT_ID', credential];
    return {
      setting: settings.join(', '),
      message: `${endpoint.message} (KAFKA_SASL_MECHANISM=oauthbearer); check ${settings.join(' and ')}`,
    };
  }
  if (chain.some((l) => l.name === 'KafkaJSSASLAuthenticationError')) {
    return {
      setting: 'KAFKA_SASL_OAUTH_TOKEN_URL, KAFKA_SASL_OAUTH_CLIENT_ID, KAFKA_SASL_OAUTH_SCOPE',
      message:
        `Kafka refused the OAUTHBEARER token of KAFKA_SASL_OAUTH_CLIENT_ID=${client.clientId} from ` +
        `KAFKA_SASL_OAUTH_TOKEN_URL=${client.tokenUrl}; check that the broker expects this token endpoint's issuer ` +
        'and audience, and KAFKA_SASL_OAUTH_SCOPE',
    };
  }
  return undefined;
}

/** What shows that the listener speaks another protocol than ours, or undefined. */
function protocolMismatch(chain: ErrorFacts[], protocol: string, fresh: boolean): string | undefined {
  // SASL handshake refused: a listener without SASL (SSL), or without this mechanism.
  const sasl = chain.find((l) => l.type === 'ILLEGAL_SASL_STATE' || l.type === 'UNSUPPORTED_SASL_MECHANISM');
  if (sasl) return `the broker answered ${sasl.type}`;
  // A TLS ClientHello to a plaintext listener: reset, or not TLS at all.
  if (protocol !== 'PLAINTEXT') {
    const notTls = chain.find(
      (l) =>
        l.code === 'ERR_SSL_WRONG_VERSION_NUMBER' ||
        (l.code === 'ECONNRESET' && /before secure TLS connection/.test(l.message ?? '')),
    );
    if (notTls) return 'no TLS handshake';
  }
  // A plaintext request to a TLS listener (or a request before SASL to a SASL one) is dropped.
  if (fresh && chain.some((l) => l.name === 'KafkaJSConnectionClosedError')) {
    return 'the broker closed the connection without answering';
  }
  return undefined;
}

/** Who the broker sees: the setting that makes this client's principal, and how to say it. */
export function kafkaPrincipal(security: KafkaSecurity): { setting: string; text: string } {
  switch (security.protocol) {
    case 'PLAINTEXT':
      return { setting: 'KAFKA_SECURITY_PROTOCOL', text: 'the anonymous client (KAFKA_SECURITY_PROTOCOL=PLAINTEXT)' };
    case 'SSL': {
      const certificate = security.tls.clientCertificate;
      return certificate
        ? { setting: 'KAFKA_SSL_CERT_FILE', text: `the client certificate KAFKA_SSL_CERT_FILE=${certificate.certFile}` }
        : { setting: 'KAFKA_SSL_CERT_FILE', text: 'the anonymous TLS client (no KAFKA_SSL_CERT_FILE)' };
    }
    case 'SASL_SSL':
      return security.sasl.mechanism === 'oauthbearer'
        ? { setting: 'KAFKA_SASL_OAUTH_CLIENT_ID', text: `KAFKA_SASL_OAUTH_CLIENT_ID=${security.sasl.client.clientId}` }
        : { setting: 'KAFKA_SASL_USERNAME', text: `KAFKA_SASL_USERNAME=${security.sasl.username}` };
  }
}

const operationWord = (op: AclOperationName) => op.charAt(0) + op.slice(1).toLowerCase();

/**
 * One refusal for everything the ACLs deny, naming each setting, e.g. `Kafka denies
 * KAFKA_SASL_USERNAME=triage access to KAFKA_TOPIC_STUDY_AVAILABLE=studies
 * (TOPIC_AUTHORIZATION_FAILED); ask for ACLs allowing Describe and Read on KAFKA_TOPIC_STUDY_AVAILABLE`.
 */
export function authorizationRefusal(
  denials: KafkaDenial[],
  security: KafkaSecurity,
  cause?: unknown,
): KafkaAccessError {
  const principal = kafkaPrincipal(security);
  const what = denials.map((d) =>
    d.describe
      ? `access to ${d.setting}=${d.name} (${d.reason})`
      : `${d.needs.map(operationWord).join(' and ')} on ${d.setting}=${d.name} (${d.reason})`,
  );
  const ask = denials.map((d) => `${d.needs.map(operationWord).join(' and ')} on ${d.setting}`);
  const settings = [...new Set(denials.map((d) => d.setting)), principal.setting];
  return new KafkaAccessError(
    'authorization',
    settings.join(', '),
    `Kafka denies ${principal.text} ${what.join(', ')}; ask for ACLs allowing ${ask.join(', ')}`,
    cause,
  );
}

/** The parts of kafkajs 2.2's own Broker and Cluster (not in its typings) the ACL checks use. */
export interface KafkajsBroker {
  versions: Record<number, { minVersion: number; maxVersion: number } | undefined> | null;
  connectionPool: { send<T>(request: RawKafkaRequest<T>): Promise<T> };
  findGroupCoordinator(request: {
    groupId: string;
    coordinatorType: number;
  }): Promise<{ coordinator: { nodeId: number } }>;
}
export interface KafkajsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  refreshMetadata(): Promise<void>;
  findBroker(request: { nodeId: number }): Promise<KafkajsBroker>;
  brokerPool: { seedBroker?: KafkajsBroker };
}

/**
 * A kafkajs Cluster of this client (its TLS, SASL, socket and retry options), never creating
 * topics: the one kafka.admin() builds, got at through the factory kafkajs keeps under a
 * private symbol. Undefined if a kafkajs release moved it (kafka-access.spec.ts pins 2.2.4's).
 */
export function kafkajsCluster(kafka: Kafka): KafkajsCluster | undefined {
  const key = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const create = key ? (kafka as unknown as Record<symbol, unknown>)[key] : undefined;
  if (typeof create !== 'function') return undefined;
  return (create as (options: { allowAutoTopicCreation: boolean }) => KafkajsCluster)({
    allowAutoTopicCreation: false,
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** kafkajs' name for a protocol error anywhere in the chain (e.g. GROUP_AUTHORIZATION_FAILED). */
const protocolType = (error: unknown) => errorChain(error).find((l) => l.type)?.type;

/**
 * The topics' and the group's ACLs for this principal (kafka-authorization.ts). Whatever is
 * denied comes back as denials; anything else (a broker too old to say, a coordinator not yet
 * elected after `coordinatorWaitMs`) is logged and left to the clients.
 */
export async function kafkaAccessDenials(
  cluster: KafkajsCluster,
  needs: KafkaAccessNeeds,
  log: KafkaLog,
  coordinatorWaitMs: number,
): Promise<KafkaDenial[]> {
  const denials: KafkaDenial[] = [];
  const broker = cluster.brokerPool.seedBroker;
  const topics = [...new Set([...needs.read, ...needs.write].map((t) => t.name))];
  if (!broker || (broker.versions?.[3]?.maxVersion ?? 0) < 8) {
    log('warn', 'the Kafka broker answers no Metadata v8: topic ACLs not checked at start-up', {});
  } else if (topics.length > 0) {
    denials.push(...topicDenials(needs, await broker.connectionPool.send(metadataRequest(topics))));
  }
  if (needs.group && broker) {
    const denial = await groupAccess(cluster, broker, needs.group, log, coordinatorWaitMs);
    if (denial) denials.push(denial);
  }
  return denials;
}

/** FindCoordinator (Describe on the group), then DescribeGroups v3 at the coordinator (Read). */
async function groupAccess(
  cluster: KafkajsCluster,
  broker: KafkajsBroker,
  group: KafkaResourceSetting,
  log: KafkaLog,
  waitMs: number,
): Promise<KafkaDenial | undefined> {
  const deadline = Date.now() + waitMs;
  let nodeId: number | undefined;
  while (nodeId === undefined) {
    try {
      ({ nodeId } = (await broker.findGroupCoordinator({ groupId: group.name, coordinatorType: 0 })).coordinator);
    } catch (error) {
      const type = protocolType(error);
      if (type === 'GROUP_AUTHORIZATION_FAILED') {
        return groupDenial(group, { groupId: group.name, errorCode: 30, authorizedOperations: 0 });
      }
      // A new cluster elects the group coordinator when the first group asks (seconds).
      if (type !== 'GROUP_COORDINATOR_NOT_AVAILABLE' || Date.now() > deadline) {
        log('warn', 'no Kafka group coordinator yet: the consumer group ACLs not checked at start-up', {
          groupId: group.name,
          error: (error as Error).message,
        });
        return undefined;
      }
      await sleep(250);
    }
  }
  await cluster.refreshMetadata();
  const coordinator = await cluster.findBroker({ nodeId });
  if ((coordinator.versions?.[15]?.maxVersion ?? 0) < 3) {
    log('warn', 'the Kafka broker answers no DescribeGroups v3: Read on the consumer group not checked', {});
    return undefined;
  }
  const [description] = await coordinator.connectionPool.send(describeGroupsRequest([group.name]));
  return description ? groupDenial(group, description) : undefined;
}

/** What the worker uses: its consumed topic and group (Read), its three answer topics (Write). */
export function workerAccessNeeds(kafka: {
  groupId: string;
  topics: { studyAvailable: string; triageCompleted: string; triageFailed: string; deadLetter: string };
}): KafkaAccessNeeds {
  const { topics } = kafka;
  return {
    read: [{ setting: 'KAFKA_TOPIC_STUDY_AVAILABLE', name: topics.studyAvailable }],
    write: [
      { setting: 'KAFKA_TOPIC_TRIAGE_COMPLETED', name: topics.triageCompleted },
      { setting: 'KAFKA_TOPIC_TRIAGE_FAILED', name: topics.triageFailed },
      { setting: 'KAFKA_TOPIC_DEAD_LETTER', name: topics.deadLetter },
    ],
    group: { setting: 'KAFKA_GROUP_ID', name: kafka.groupId },
  };
}

/**
 * One connection attempt without kafkajs' retries, before the real clients connect: refused
 * settings fail start-up in milliseconds instead of after every retry of every client. Any
 * other failure (a broker still starting) is left to the clients, which retry.
 *
 * With `needs`, the same connection then asks what the ACLs allow this principal on those
 * topics and that group (kafka-authorization.ts: Metadata v8 and DescribeGroups v3, nothing
 * created, joined or written) and throws one KafkaAccessError ('authorization') naming every
 * setting whose resource is denied. Errors of these requests that are not denials are logged
 * and left to the clients.
 */
export async function probeKafkaAccess(
  connection: KafkaConnection,
  log: KafkaLog,
  needs?: KafkaAccessNeeds,
  options: { coordinatorWaitMs?: number } = {},
): Promise<void> {
  // Quiet: the probe's own failure is reported once, by us, not per retry by kafkajs.
  const kafka = createKafkaClient(connection, () => undefined, { retries: 0 });
  const cluster = needs ? kafkajsCluster(kafka) : undefined;
  if (needs && !cluster) log('warn', 'this kafkajs hides its cluster: Kafka ACLs not checked at start-up', {});
  const client = cluster ?? kafka.admin();
  try {
    try {
      await client.connect();
    } catch (error) {
      const refused = kafkaAccessRefusal(error, connection, { fresh: true });
      if (refused) throw refused;
      log('warn', 'Kafka not reachable yet; the clients will retry', { error: (error as Error).message });
      return;
    }
    if (!cluster || !needs) return;
    let denials: KafkaDenial[];
    try {
      denials = await kafkaAccessDenials(cluster, needs, log, options.coordinatorWaitMs ?? 5_000);
    } catch (error) {
      const refused = kafkaAccessRefusal(error, connection, { fresh: false });
      if (refused) throw refused;
      log('warn', 'Kafka ACLs not checked at start-up; the clients will find out', {
        error: (error as Error).message,
        type: protocolType(error),
      });
      return;
    }
    if (denials.length > 0) throw authorizationRefusal(denials, connection.security);
  } finally {
    await client.disconnect().catch(() => undefined);
  }
}
