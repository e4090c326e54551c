import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { parseIntakeConfig } from '@app/config';
import { basicAuth, secretOf } from '@app/credentials';
import { syntheticCtSeries } from '@app/dicom/phantom';
import { createDicomwebClient } from '@app/dicomweb';
import type { IntakeMetrics } from '@app/intake';
import { decodeStudyAvailable, type StudyAvailable } from '@app/messaging';
import { JsonLogger } from '@app/service';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startIntake } from '../../apps/intake/src/start-intake.js';
import { eventGridEvent } from '../fixtures/cloud/azure-dicom.js';
import { DATASTORE_ID, imageSetEvent } from '../fixtures/cloud/healthimaging.js';
import { freePort } from '../support/free-port.js';
import { startMoto, type Moto } from '../support/moto.js';
import { stack } from '../support/stack.js';

/**
 * The built intake end to end with cloud sources, against the real local Kafka (state topic,
 * StudyAvailable) and Orthanc as the archive the completion rules re-check over QIDO-RS:
 * - Event Grid webhook: DicomImageCreated deliveries (documented shape) for instances really stored
 *   in Orthanc, answered 200 only once durable; duplicates and out-of-order deliveries;
 * - AWS: EventBridge-shaped messages on moto's SQS, GetImageSetMetadata from a local contract
 *   server naming the Orthanc study.
 * Exactly one StudyAvailable per study version either way.
 */
const QUIET_MS = 1_500;
const run = randomUUID().slice(0, 8);
const kafka = new Kafka({ brokers: stack.kafkaBrokers, clientId: 'intake-cloud-it', logLevel: logLevel.NOTHING });
const dicomweb = createDicomwebClient({
  baseUrl: stack.dicomwebUrl,
  auth: basicAuth(stack.orthancUsername, secretOf({ value: stack.orthancPassword }, 'ORTHANC_PASSWORD')),
  timeoutMs: 30_000,
});
const received: StudyAvailable[] = [];
const receivedAt = new Map<string, number>();
const counted: Record<string, number> = {};
const count = (key: string) => void (counted[key] = (counted[key] ?? 0) + 1);
const metrics: IntakeMetrics = {
  notification: (_s, o) => count(`notification:${o}`),
  recheck: (_s, o) => count(`recheck:${o}`),
  published: (_s, r) => count(`published:${r}`),
  forgotten: (_s, r) => count(`forgotten:${r}`),
  sourceError: () => count('sourceError'),
  observePending: () => undefined,
};
const logLines: Record<string, unknown>[] = [];
const logger = new JsonLogger('info', {}, (line) => void logLines.push(JSON.parse(line) as Record<string, unknown>));
const consumer = kafka.consumer({ groupId: `intake-cloud-it-${run}` });
const studyTopic = `intake-cloud-it.study-available.${run}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const uid = () => `2.25.${BigInt(`0x${randomUUID().replaceAll('-', '')}`).toString()}`;

async function until(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A small synthetic CT series stored in Orthanc; returns its SOP Instance UIDs. */
async function store(study: string, series: string, slices: number): Promise<string[]> {
  const made = syntheticCtSeries({ rows: 16, columns: 16, slices, studyInstanceUid: study, seriesInstanceUid: series });
  for (const instance of made.instances) await dicomweb.store([instance.bytes], study);
  return made.instances.map((instance) => instance.sopInstanceUid);
}

function environment(name: string, extra: Record<string, string>) {
  return {
    KAFKA_BROKERS: stack.kafkaBrokers.join(','),
    KAFKA_TOPIC_STUDY_AVAILABLE: studyTopic,
    INTAKE_STATE_TOPIC: `intake-cloud-it.state.${name}.${run}`,
    INTAKE_TRANSACTIONAL_ID: `intake-cloud-it-${name}-${run}`,
    INTAKE_STORE: name,
    DICOMWEB_BASE_URL: stack.dicomwebUrl,
    DICOMWEB_AUTH: 'basic',
    DICOMWEB_USERNAME: stack.orthancUsername,
    DICOMWEB_PASSWORD: stack.orthancPassword,
    ALLOW_INSECURE_HTTP: 'true',
    HTTP_PORT: '0',
    INTAKE_QUIET_PERIOD_MS: String(QUIET_MS),
    INTAKE_MAX_WAIT_MS: '60000',
    INTAKE_POLL_INTERVAL_MS: '200',
    INTAKE_TICK_MS: '100',
    ...extra,
  };
}

async function createTopics(...topics: { topic: string; compact?: boolean }[]) {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: topics.map(({ topic, compact }) => ({
      topic,
      numPartitions: 1,
      ...(compact ? { configEntries: [{ name: 'cleanup.policy', value: 'compact' }] } : {}),
    })),
  });
  await admin.disconnect();
}

beforeAll(async () => {
  await createTopics(
    { topic: studyTopic },
    { topic: `intake-cloud-it.state.azure.${run}`, compact: true },
    { topic: `intake-cloud-it.state.aws.${run}`, compact: true },
  );
  await consumer.connect();
  await consumer.subscribe({ topic: studyTopic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const event = decodeStudyAvailable(message.value);
      receivedAt.set(event.studyInstanceUid, Date.now());
      received.push(event);
    },
  });
}, 60_000);

afterAll(async () => {
  await consumer.disconnect();
});

describe('Azure DICOM events through the Event Grid webhook, end to end', () => {
  it('one StudyAvailable for a study whose events arrive twice and out of order; 200 only once durable', async () => {
    const pushPort = await freePort();
    const token = `push-${randomUUID()}`;
    const intake = await startIntake(
      parseIntakeConfig(
        environment('azure', {
          INTAKE_SOURCE: 'azure-event-grid',
          INTAKE_AZURE_DICOM_HOST: '127.0.0.1',
          INTAKE_PUSH_PORT: String(pushPort),
          INTAKE_PUSH_TOKEN: token,
        }),
      ),
      logger,
      { metrics },
    );
    try {
      const study = uid();
      const [seriesA, seriesB] = [uid(), uid()];
      const sopsA = await store(study, seriesA, 3);
      const sopsB = await store(study, seriesB, 2);
      const event = (series: string, sop: string, n: number) => {
        const documented = eventGridEvent(n, undefined, '127.0.0.1');
        return {
          ...documented,
          data: {
            ...documented.data,
            imageStudyInstanceUid: study,
            imageSeriesInstanceUid: series,
            imageSopInstanceUid: sop,
          },
        };
      };
      // Series B's events first, then A's, then all of them again (Event Grid is at-least-once).
      const deliveries = [
        ...sopsB.map((sop, i) => [event(seriesB, sop, 10 + i)]),
        ...sopsA.map((sop, i) => [event(seriesA, sop, i)]),
      ];
      const times: number[] = [];
      for (const delivery of [...deliveries, ...deliveries]) {
        const started = performance.now();
        const response = await fetch(`http://127.0.0.1:${pushPort}/eventgrid?token=${token}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(delivery),
        });
        expect(response.status).toBe(200);
        times.push(performance.now() - started);
      }
      const lastDeliveredAt = Date.now();
      await until('StudyAvailable', () => received.some((e) => e.studyInstanceUid === study));
      const delayMs = receivedAt.get(study)! - lastDeliveredAt;
      process.stdout.write(
        `last delivery answered -> StudyAvailable consumed: ${delayMs} ms (quiet period ${QUIET_MS} ms)\n`,
      );
      await sleep(QUIET_MS + 1_000); // room for a wrong second announcement
      const events = received.filter((e) => e.studyInstanceUid === study);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ source: 'azure', studyVersion: 1 });
      expect(new Set(events[0].seriesInstanceUids)).toEqual(new Set([seriesA, seriesB]));
      // 200 comes after the tick's commit: not before the next tick (100 ms), not much after.
      expect(Math.min(...times)).toBeGreaterThan(5);
      const median = times.toSorted((a, b) => a - b)[Math.floor(times.length / 2)];
      process.stdout.write(`Event Grid delivery answered after its commit: median ${median.toFixed(0)} ms\n`);
    } finally {
      await intake.close();
    }
  });
});

describe('AWS HealthImaging through EventBridge → SQS (moto), end to end', () => {
  let moto: Moto;
  let metadata: Server;
  const imageSets = new Map<string, object>();

  beforeAll(async () => {
    moto = await startMoto();
    metadata = createServer((request, response) => {
      request.resume();
      const imageSetId = /imageSet\/([0-9a-z]+)\//.exec(request.url ?? '')?.[1] ?? '';
      const document = imageSets.get(imageSetId);
      if (!document) {
        response.writeHead(404, {
          'x-amzn-errortype': 'ResourceNotFoundException',
          'content-type': 'application/json',
        });
        return void response.end('{}');
      }
      response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      response.end(gzipSync(JSON.stringify(document)));
    });
    await new Promise<void>((resolve) => metadata.listen(0, '127.0.0.1', resolve));
  }, 120_000);
  afterAll(async () => {
    await new Promise((resolve) => metadata?.close(resolve));
    await moto?.stop();
  });

  it('an Image Set Created event for a stored study: one StudyAvailable naming its series; the message deleted', async () => {
    const credentials = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' };
    Object.assign(process.env, credentials);
    const sqs = new SQSClient({
      endpoint: moto.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `intake-e2e-${run}` }));
    const study = uid();
    const series = uid();
    await store(study, series, 3);
    const imageSetId = randomUUID().replaceAll('-', '');
    imageSets.set(imageSetId, {
      Study: { DICOM: { StudyInstanceUID: study }, Series: { [series]: { DICOM: { Modality: 'CT' } } } },
    });
    const intake = await startIntake(
      parseIntakeConfig(
        environment('aws', {
          INTAKE_SOURCE: 'aws-healthimaging-sqs',
          INTAKE_AWS_REGION: 'us-east-1',
          INTAKE_AWS_DATASTORE_ID: DATASTORE_ID,
          INTAKE_SQS_QUEUE_URL: QueueUrl!,
          INTAKE_SQS_ENDPOINT: moto.endpoint,
          INTAKE_MEDICAL_IMAGING_ENDPOINT: `http://127.0.0.1:${(metadata.address() as AddressInfo).port}`,
        }),
      ),
      logger,
      { metrics },
    );
    try {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl,
          MessageBody: imageSetEvent('Image Set Created', { imagesetId: imageSetId }),
        }),
      );
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'not an event' }));
      await until('StudyAvailable', () => received.some((e) => e.studyInstanceUid === study), 45_000);
      const queue = { remaining: -1 };
      const poll = setInterval(() => {
        void sqs
          .send(
            new GetQueueAttributesCommand({
              QueueUrl,
              AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
            }),
          )
          .then(({ Attributes = {} }) => {
            queue.remaining =
              Number(Attributes['ApproximateNumberOfMessages']) +
              Number(Attributes['ApproximateNumberOfMessagesNotVisible']);
          });
      }, 200);
      onTestFinished(() => clearInterval(poll));
      const events = received.filter((e) => e.studyInstanceUid === study);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ source: 'aws', studyVersion: 1, seriesInstanceUids: [series] });
      expect(
        logLines.some(
          (l) => l['msg'] === "notification malformed; left unacknowledged for the platform's dead-letter policy",
        ),
      ).toBe(true);
      // The event's message is deleted once durable; only the malformed one is left for the redrive policy.
      await until('the event deleted', () => queue.remaining === 1, 10_000);
    } finally {
      await intake.close();
      sqs.destroy();
    }
  }, 90_000);
});
