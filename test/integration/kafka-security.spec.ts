import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '@app/config';
import { trustCertificateAuthorities } from '@app/credentials';
import { phantomStudy } from '@app/dicom/phantom';
import kafkajs, { type AclEntry } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonLogger } from '../../apps/worker/src/json-logger.js';
import { startWorker } from '../../apps/worker/src/start-worker.js';
import { assertReachable, stack } from '../support/stack.js';
import { buildWorker } from '../support/worker-build.js';
import {
  createTopics,
  EventSender,
  kafka,
  storeInstances,
  TopicRecorder,
  uniqueTopics,
  workerEnvironment,
  WorkerProcess,
  type WorkerTopics,
} from '../support/worker-harness.js';

/**
 * The worker on the broker's secured listeners (scripts/stack/services/kafka.sh): SASL_SSL
 * with SCRAM-SHA-512 and our own CA, SSL with a client certificate (mutual TLS), and SASL_SSL
 * with OAUTHBEARER, tokens from the stack's authorization server (auth.sh) that the broker
 * checks against its JWKS. The phantom is triaged end to end over each; refused settings stop
 * start-up at once with exit code 77 and one line naming the setting. Topics are created,
 * events sent and answers read over the plaintext listener (the harness's client); only the
 * worker speaks TLS.
 */
const secured = stack.kafkaSecured;
const { auth } = stack;
const scramPassword = () => readFileSync(secured.scramPasswordFile, 'utf8').trim();
const kafkaClientSecret = () => readFileSync(auth.kafkaClient.secretFile, 'utf8').trim();
const adminSecret = () => readFileSync(auth.adminSecretFile, 'utf8').trim();
const EXIT_KAFKA_REFUSED = 77;
const EXIT_CONFIG = 78;

const saslSslSettings = {
  KAFKA_BROKERS: secured.saslSslBrokers.join(','),
  KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
  KAFKA_SSL_CA_FILE: secured.caFile,
  KAFKA_SASL_USERNAME: secured.scramUsername,
  KAFKA_SASL_PASSWORD_FILE: secured.scramPasswordFile,
};
const oauthSettings = {
  KAFKA_BROKERS: secured.oauthBrokers.join(','),
  KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
  KAFKA_SSL_CA_FILE: secured.caFile,
  KAFKA_SASL_MECHANISM: 'oauthbearer',
  KAFKA_SASL_OAUTH_TOKEN_URL: auth.tokenUrl,
  KAFKA_SASL_OAUTH_CLIENT_ID: auth.kafkaClient.id,
  KAFKA_SASL_OAUTH_CLIENT_SECRET_FILE: auth.kafkaClient.secretFile,
  KAFKA_SASL_OAUTH_SCOPE: auth.kafkaScope,
  // The token endpoint's certificate is from the stack CA too.
  HTTPS_CA_FILE: stack.tlsCaFile,
};
const mtlsSettings = {
  KAFKA_BROKERS: secured.sslBrokers.join(','),
  KAFKA_SECURITY_PROTOCOL: 'SSL',
  KAFKA_SSL_CA_FILE: secured.caFile,
  KAFKA_SSL_CERT_FILE: secured.clientCertFile,
  KAFKA_SSL_KEY_FILE: secured.clientKeyFile,
};

let workerMain: string;
let scratch: string;

beforeAll(async () => {
  await assertReachable('Orthanc', `${stack.orthancUrl}/system`, { Authorization: stack.orthancAuthorization });
  await assertReachable('HAPI FHIR', `${stack.fhirBaseUrl}/metadata`);
  // The authorization server's admin API (HTTPS, a stack-CA certificate); the in-process worker
  // trusts the same CA through HTTPS_CA_FILE.
  trustCertificateAuthorities(stack.tlsCaFile);
  scratch = mkdtempSync(join(tmpdir(), 'kafka-security-'));
  workerMain = await buildWorker();
}, 120_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The authorization server's admin API (docs/security.md, "The admin API"). */
async function authAdmin(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${auth.adminUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${adminSecret()}`, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;
/** A topic or group name inside a RegExp. */
const escaped = (name: string) => name.replaceAll('.', '\\.');

/** An ACL on one of the test's own topics or groups for the SCRAM user (User:triage). */
const aclFor = (
  resourceType: 'topic' | 'group',
  resourceName: string,
  operation: AclEntry['operation'],
  permissionType: AclEntry['permissionType'],
): AclEntry => ({
  resourceType: resourceType === 'topic' ? AclResourceTypes.TOPIC : AclResourceTypes.GROUP,
  resourceName,
  resourcePatternType: ResourcePatternTypes.LITERAL,
  principal: `User:${secured.scramUsername}`,
  host: '*',
  operation,
  permissionType,
});

/**
 * Runs `body` with `acls` in force: created over the plaintext listener (User:ANONYMOUS is a
 * super user of the stack's broker, whose authorizer leaves resources without ACLs open), seen
 * by the broker's authorizer before `body` starts, deleted afterwards whatever happens.
 */
async function withAcls<T>(acls: AclEntry[], body: () => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  const filters = acls.map(({ resourceType, resourceName, resourcePatternType, principal, host }) => ({
    resourceType,
    resourceName,
    resourcePatternType,
    principal,
    host,
    operation: AclOperationTypes.ANY,
    permissionType: AclPermissionTypes.ANY,
  }));
  const inForce = async () => {
    const found = await Promise.all(filters.map((filter) => admin.describeAcls(filter)));
    return found.reduce((n, { resources }) => n + resources.reduce((m, r) => m + r.acls.length, 0), 0);
  };
  try {
    await admin.createAcls({ acl: acls });
    // The broker applies them when it replays the metadata record: moments later.
    for (let tries = 0; (await inForce()) < acls.length; tries++) {
      if (tries > 50) throw new Error('the ACLs never reached the broker');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return await body();
  } finally {
    await admin.deleteAcls({ filters });
    expect(await inForce()).toBe(0);
    await admin.disconnect();
  }
}

/** Starts the worker in this process with `settings`, triages a fresh phantom, checks readiness, stops. */
async function expectTriagedOver(
  prefix: string,
  settings: Record<string, string>,
  options: { idleMs?: number } = {},
): Promise<string[]> {
  const topics: WorkerTopics = uniqueTopics(prefix);
  await createTopics(topics);
  const recorder = new TopicRecorder();
  const sender = new EventSender(topics.studyAvailable);
  await recorder.start([topics.triageCompleted, topics.triageFailed, topics.deadLetter]);
  await sender.connect();
  const logLines: string[] = [];
  const logger = new JsonLogger('debug', { service: prefix }, (line) => void logLines.push(line));
  const started = performance.now();
  const worker = await startWorker(parseConfig(workerEnvironment(topics, { ...settings, LOG_LEVEL: 'debug' })), logger);
  const startedMs = Math.round(performance.now() - started);
  try {
    const ready = await fetch(`http://127.0.0.1:${worker.lifecycle.httpPort}/health/ready`);
    expect(((await ready.json()) as { checks: { kafka: { ok: boolean } } }).checks.kafka).toEqual({ ok: true });

    // Connected and idle for a while first (the consumer polls, heartbeats and commits meanwhile).
    if (options.idleMs) await new Promise((resolve) => setTimeout(resolve, options.idleMs));
    const study = phantomStudy();
    await storeInstances(study.series.flatMap((s) => s.instances.map((i) => i.bytes)));
    const sent = performance.now();
    const { eventId } = await sender.study({ studyInstanceUid: study.studyInstanceUid });
    const answer = await recorder.waitFor('the answer', (m) => m.json?.correlationId === eventId, 150_000);
    console.warn(
      `${settings.KAFKA_SECURITY_PROTOCOL}: worker started in ${startedMs} ms, ` +
        `TriageCompleted ${((performance.now() - sent) / 1000).toFixed(1)} s after StudyAvailable`,
    );
    expect(answer.topic).toBe(topics.triageCompleted);
    expect(answer.json).toMatchObject({ studyInstanceUid: study.studyInstanceUid, notForClinicalUse: true });
  } finally {
    // Side by side: each leaves its group, which takes seconds.
    await Promise.all([worker.close(), sender.disconnect(), recorder.stop()]);
  }
  expect(logLines.join('\n')).not.toContain(scramPassword());
  return logLines;
}

/** Runs the built worker (main.js) with `settings` and expects it to refuse to start, quickly. */
async function expectRefusedStart(
  settings: Record<string, string>,
  code: number,
  message: RegExp,
  topics: WorkerTopics = uniqueTopics('kafka-security-refused'),
) {
  const started = Date.now();
  const worker = new WorkerProcess(workerMain, workerEnvironment(topics, settings));
  const exit = await worker.exited;
  const ms = Date.now() - started;
  const fatal = worker.lines.find((line) => line.level === 'fatal');
  expect({ code: exit.code, message: fatal?.msg }).toEqual({ code, message: expect.stringMatching(message) });
  // Not retried: one line, no retries, well within the time the retries would take.
  expect(worker.lines.filter((line) => /retrying/.test(String(line.msg)))).toEqual([]);
  expect(ms).toBeLessThan(15_000);
  const output = `${JSON.stringify(worker.lines)}\n${worker.stderr}`;
  expect(output).not.toContain(scramPassword());
  expect(output).not.toContain(kafkaClientSecret());
  return { fatal: fatal!, ms };
}

describe('Kafka TLS and SASL against the real broker', () => {
  it('triages the phantom over SASL_SSL with SCRAM-SHA-512, our CA and a password file', async () => {
    await expectTriagedOver('kafka-sasl-ssl', saslSslSettings);
  }, 200_000);

  it('triages the phantom over SSL with a client certificate (mutual TLS)', async () => {
    await expectTriagedOver('kafka-mtls', mtlsSettings);
  }, 200_000);

  it('triages the phantom over SASL_SSL with OAUTHBEARER: a client secret, tokens checked by the broker', async () => {
    const before = await authAdmin('GET', '/tokens');
    const lines = await expectTriagedOver('kafka-oauth', oauthSettings);
    const after = await authAdmin('GET', '/tokens');
    const issued = (t: Record<string, unknown>) => (t.issued as Record<string, number>)[auth.kafkaClient.id] ?? 0;
    // One token for the probe, the consumer, its admin and the publisher: the cache is shared.
    expect(issued(after) - issued(before)).toBe(1);
    const obtained = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'Kafka access token obtained');
    expect(obtained).toEqual([expect.objectContaining({ clientId: auth.kafkaClient.id, scope: auth.kafkaScope })]);
    expect(lines.join('\n')).not.toContain(kafkaClientSecret());
  }, 200_000);

  it('triages the phantom over OAUTHBEARER with private_key_jwt (RS384)', async () => {
    const { KAFKA_SASL_OAUTH_CLIENT_SECRET_FILE: _secret, ...rest } = oauthSettings;
    await expectTriagedOver('kafka-oauth-jwt', {
      ...rest,
      KAFKA_SASL_OAUTH_CLIENT_ID: auth.kafkaRs384Client.id,
      KAFKA_SASL_OAUTH_PRIVATE_KEY_FILE: auth.kafkaRs384Client.keyFile,
    });
  }, 200_000);

  it('a disabled OAuth client: exit 77 naming the client id and the secret setting', async () => {
    await authAdmin('POST', `/clients/${auth.kafkaClient.id}/disable`);
    try {
      const { fatal } = await expectRefusedStart(
        oauthSettings,
        EXIT_KAFKA_REFUSED,
        /^the token endpoint https:\/\/127\.0\.0\.1:\d+ refused client triage-kafka: invalid_client \(KAFKA_SASL_MECHANISM=oauthbearer\); check KAFKA_SASL_OAUTH_CLIENT_ID and KAFKA_SASL_OAUTH_CLIENT_SECRET_FILE$/,
      );
      expect(fatal).toMatchObject({
        refusal: 'authentication',
        setting: 'KAFKA_SASL_OAUTH_CLIENT_ID, KAFKA_SASL_OAUTH_CLIENT_SECRET_FILE',
      });
    } finally {
      await authAdmin('POST', '/reset');
    }
  });

  it("a token the broker refuses (the FHIR server's audience): exit 77 naming the OAuth settings", async () => {
    const { fatal } = await expectRefusedStart(
      {
        ...oauthSettings,
        KAFKA_SASL_OAUTH_CLIENT_ID: auth.secretClient.id,
        KAFKA_SASL_OAUTH_CLIENT_SECRET_FILE: auth.secretClient.secretFile,
        KAFKA_SASL_OAUTH_SCOPE: 'system/*.rs',
      },
      EXIT_KAFKA_REFUSED,
      /^Kafka refused the OAUTHBEARER token of KAFKA_SASL_OAUTH_CLIENT_ID=triage-secret from KAFKA_SASL_OAUTH_TOKEN_URL=https:.*; check that the broker expects this token endpoint's issuer and audience, and KAFKA_SASL_OAUTH_SCOPE$/,
    );
    expect(fatal).toMatchObject({ refusal: 'authentication' });
  });

  it('a wrong password: exit 77 naming the username and the password setting, never the password', async () => {
    const { fatal } = await expectRefusedStart(
      { ...saslSslSettings, KAFKA_SASL_PASSWORD_FILE: '', KAFKA_SASL_PASSWORD: `${scramPassword()}-wrong` },
      EXIT_KAFKA_REFUSED,
      /^Kafka refused the SASL credentials of KAFKA_SASL_USERNAME=triage \(SCRAM-SHA-512\); check KAFKA_SASL_PASSWORD$/,
    );
    expect(fatal).toMatchObject({ refusal: 'authentication' });
  });

  it('a CA that did not sign the broker certificate: exit 77 naming KAFKA_SSL_CA_FILE', async () => {
    const otherCa = join(scratch, 'other-ca.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', join(scratch, 'other-ca.key'), '-out', otherCa, '-days', '1', '-subj', '/CN=some other CA',
    ], { stdio: 'ignore' }); // prettier-ignore
    await expectRefusedStart(
      { ...saslSslSettings, KAFKA_SSL_CA_FILE: otherCa },
      EXIT_KAFKA_REFUSED,
      /^the certificate of the Kafka broker .* is not signed by KAFKA_SSL_CA_FILE=.*other-ca\.pem .*; check KAFKA_SSL_CA_FILE$/,
    );
  });

  it('no client certificate for the mutual-TLS listener: exit 77 asking for one', async () => {
    await expectRefusedStart(
      { ...mtlsSettings, KAFKA_SSL_CERT_FILE: '', KAFKA_SSL_KEY_FILE: '' },
      EXIT_KAFKA_REFUSED,
      /requires a client certificate \(mutual TLS\); set KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE$/,
    );
  });

  it('a plaintext client on the TLS port: exit 77 naming KAFKA_SECURITY_PROTOCOL', async () => {
    await expectRefusedStart(
      { KAFKA_BROKERS: secured.saslSslBrokers.join(',') },
      EXIT_KAFKA_REFUSED,
      /does not speak KAFKA_SECURITY_PROTOCOL=PLAINTEXT .*; check KAFKA_SECURITY_PROTOCOL and KAFKA_BROKERS$/,
    );
  });

  it('a TLS client on the plaintext port: exit 77 naming KAFKA_SECURITY_PROTOCOL', async () => {
    await expectRefusedStart(
      { ...mtlsSettings, KAFKA_BROKERS: stack.kafkaBrokers.join(',') },
      EXIT_KAFKA_REFUSED,
      /does not speak KAFKA_SECURITY_PROTOCOL=SSL \(no TLS handshake\)/,
    );
  });

  it('an unreadable CA file: exit 78 naming the setting', async () => {
    await expectRefusedStart(
      { ...saslSslSettings, KAFKA_SSL_CA_FILE: join(scratch, 'missing.pem') },
      EXIT_CONFIG,
      /^cannot read KAFKA_SSL_CA_FILE=.*missing\.pem \(ENOENT\)$/,
    );
  });
  describe('ACLs (the broker runs StandardAuthorizer; resources without ACLs stay open)', () => {
    const { ALL, DESCRIBE, WRITE } = AclOperationTypes;
    const { ALLOW, DENY } = AclPermissionTypes;

    it('an ACL denying the consumed topic: exit 77 naming KAFKA_TOPIC_STUDY_AVAILABLE, never retried', async () => {
      const topics = uniqueTopics('kafka-acl-topic');
      await createTopics(topics);
      const { fatal, ms } = await withAcls([aclFor('topic', topics.studyAvailable, ALL, DENY)], () =>
        expectRefusedStart(
          saslSslSettings,
          EXIT_KAFKA_REFUSED,
          new RegExp(
            `^Kafka denies KAFKA_SASL_USERNAME=triage access to KAFKA_TOPIC_STUDY_AVAILABLE=${escaped(topics.studyAvailable)} ` +
              '\\(TOPIC_AUTHORIZATION_FAILED\\); ask for ACLs allowing Describe and Read on KAFKA_TOPIC_STUDY_AVAILABLE$',
          ),
          topics,
        ),
      );
      expect(fatal).toMatchObject({
        refusal: 'authorization',
        setting: 'KAFKA_TOPIC_STUDY_AVAILABLE, KAFKA_SASL_USERNAME',
      });
      console.warn(`ACL denying the consumed topic: exit 77 after ${ms} ms (process start included)`);
    });

    it('an ACL denying the consumer group: exit 77 naming KAFKA_GROUP_ID', async () => {
      const topics = uniqueTopics('kafka-acl-group');
      await createTopics(topics);
      const { fatal, ms } = await withAcls([aclFor('group', topics.groupId, ALL, DENY)], () =>
        expectRefusedStart(
          saslSslSettings,
          EXIT_KAFKA_REFUSED,
          new RegExp(
            `^Kafka denies KAFKA_SASL_USERNAME=triage access to KAFKA_GROUP_ID=${escaped(topics.groupId)} ` +
              '\\(GROUP_AUTHORIZATION_FAILED\\); ask for ACLs allowing Describe and Read on KAFKA_GROUP_ID$',
          ),
          topics,
        ),
      );
      expect(fatal).toMatchObject({ refusal: 'authorization', setting: 'KAFKA_GROUP_ID, KAFKA_SASL_USERNAME' });
      console.warn(`ACL denying the consumer group: exit 77 after ${ms} ms (process start included)`);
    });

    it('Describe but no Write on an answer topic, Describe but no Read on the group: one line naming both', async () => {
      const topics = uniqueTopics('kafka-acl-ops');
      await createTopics(topics);
      // An operator who granted Describe and forgot the rest: the allowed operations (KIP-430) tell.
      const { fatal } = await withAcls(
        [aclFor('topic', topics.triageCompleted, DESCRIBE, ALLOW), aclFor('group', topics.groupId, DESCRIBE, ALLOW)],
        () =>
          expectRefusedStart(
            saslSslSettings,
            EXIT_KAFKA_REFUSED,
            new RegExp(
              `^Kafka denies KAFKA_SASL_USERNAME=triage Write on KAFKA_TOPIC_TRIAGE_COMPLETED=${escaped(topics.triageCompleted)} ` +
                `\\(allowed: DESCRIBE\\), Read on KAFKA_GROUP_ID=${escaped(topics.groupId)} \\(allowed: DESCRIBE\\); ` +
                'ask for ACLs allowing Write on KAFKA_TOPIC_TRIAGE_COMPLETED, Read on KAFKA_GROUP_ID$',
            ),
            topics,
          ),
      );
      expect(fatal).toMatchObject({
        refusal: 'authorization',
        setting: 'KAFKA_TOPIC_TRIAGE_COMPLETED, KAFKA_GROUP_ID, KAFKA_SASL_USERNAME',
      });
    });

    it('an ACL added while the worker runs: readiness reports the partition retrying; answered once it is gone', async () => {
      const topics = uniqueTopics('kafka-acl-runtime');
      await createTopics(topics);
      const recorder = new TopicRecorder();
      const sender = new EventSender(topics.studyAvailable);
      await recorder.start([topics.triageCompleted, topics.triageFailed, topics.deadLetter]);
      await sender.connect();
      const logger = new JsonLogger('info', { service: 'kafka-acl-runtime' }, () => undefined);
      const worker = await startWorker(parseConfig(workerEnvironment(topics, saslSslSettings)), logger);
      const readiness = async () => {
        const response = await fetch(`http://127.0.0.1:${worker.lifecycle.httpPort}/health/ready`);
        return ((await response.json()) as { checks: { kafka: { ok: boolean; reason?: string } } }).checks.kafka;
      };
      try {
        expect(await readiness()).toEqual({ ok: true });
        const study = phantomStudy();
        await storeInstances(study.series.flatMap((s) => s.instances.map((i) => i.bytes)));
        let eventId = '';
        let sent = 0;
        let notReady = 0;
        await withAcls([aclFor('topic', topics.triageCompleted, WRITE, DENY)], async () => {
          ({ eventId } = await sender.study({ studyInstanceUid: study.studyInstanceUid }));
          sent = performance.now();
          const deadline = Date.now() + 150_000;
          let kafkaCheck = await readiness();
          while (kafkaCheck.ok && Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 500));
            kafkaCheck = await readiness();
          }
          expect(kafkaCheck).toEqual({
            ok: false,
            reason: 'partitions 0 are retrying a message they could not finish',
          });
          notReady = performance.now();
          expect(recorder.messages).toEqual([]);
        });
        const allowed = performance.now();
        // The ACL gone, the next redelivery answers (nothing failed, nothing parked).
        const answer = await recorder.waitFor('the answer', (m) => m.json?.correlationId === eventId, 120_000);
        expect(answer.topic).toBe(topics.triageCompleted);
        console.warn(
          `ACL added at run time: readiness false ${((notReady - sent) / 1000).toFixed(1)} s after StudyAvailable, ` +
            `TriageCompleted ${((performance.now() - allowed) / 1000).toFixed(1)} s after the ACL was deleted`,
        );
        await expect.poll(readiness, { timeout: 10_000 }).toEqual({ ok: true });
        expect(recorder.messages.filter((m) => m.topic !== topics.triageCompleted)).toEqual([]);
      } finally {
        await Promise.all([worker.close(), sender.disconnect(), recorder.stop()]);
      }
    }, 300_000);
  });
});
