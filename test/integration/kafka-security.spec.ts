import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '@app/config';
import { phantomStudy } from '@app/dicom/phantom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonLogger } from '../../apps/worker/src/json-logger.js';
import { startWorker } from '../../apps/worker/src/start-worker.js';
import { assertReachable, stack } from '../support/stack.js';
import { buildWorker } from '../support/worker-build.js';
import {
  createTopics,
  EventSender,
  storeInstances,
  TopicRecorder,
  uniqueTopics,
  workerEnvironment,
  WorkerProcess,
  type WorkerTopics,
} from '../support/worker-harness.js';

/**
 * The worker on the broker's secured listeners (scripts/stack/services/kafka.sh): SASL_SSL
 * with SCRAM-SHA-512 and our own CA, and SSL with a client certificate (mutual TLS). The
 * phantom is triaged end to end over each; refused settings stop start-up at once with
 * exit code 77 and one line naming the setting. Topics are created, events sent and answers
 * read over the plaintext listener (the harness's client); only the worker speaks TLS.
 */
const secured = stack.kafkaSecured;
const scramPassword = () => readFileSync(secured.scramPasswordFile, 'utf8').trim();
const EXIT_KAFKA_REFUSED = 77;
const EXIT_CONFIG = 78;

const saslSslSettings = {
  KAFKA_BROKERS: secured.saslSslBrokers.join(','),
  KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
  KAFKA_SSL_CA_FILE: secured.caFile,
  KAFKA_SASL_USERNAME: secured.scramUsername,
  KAFKA_SASL_PASSWORD_FILE: secured.scramPasswordFile,
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
  scratch = mkdtempSync(join(tmpdir(), 'kafka-security-'));
  workerMain = await buildWorker();
}, 120_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Starts the worker in this process with `settings`, triages a fresh phantom, checks readiness, stops. */
async function expectTriagedOver(prefix: string, settings: Record<string, string>): Promise<void> {
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
}

/** Runs the built worker (main.js) with `settings` and expects it to refuse to start, quickly. */
async function expectRefusedStart(settings: Record<string, string>, code: number, message: RegExp) {
  const topics = uniqueTopics('kafka-security-refused');
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
  return { fatal: fatal!, ms };
}

describe('Kafka TLS and SASL against the real broker', () => {
  it('triages the phantom over SASL_SSL with SCRAM-SHA-512, our CA and a password file', async () => {
    await expectTriagedOver('kafka-sasl-ssl', saslSslSettings);
  }, 200_000);

  it('triages the phantom over SSL with a client certificate (mutual TLS)', async () => {
    await expectTriagedOver('kafka-mtls', mtlsSettings);
  }, 200_000);

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
});
