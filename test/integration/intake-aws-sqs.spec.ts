import { MedicalImagingClient } from '@aws-sdk/client-medical-imaging';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { HealthImagingSqsSource, type InstanceNotification, type SourceReport } from '@app/intake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DATASTORE_ID,
  IMAGE_SET_ID,
  imageSetEvent,
  imageSetMetadata,
  SERIES_UIDS,
  STUDY_UID,
} from '../fixtures/cloud/healthimaging.js';
import { startMoto, type Moto } from '../support/moto.js';

/**
 * The intake's HealthImaging adapter with the real AWS SDK: SQS is moto's server (a real SQS
 * protocol implementation: long polling, visibility timeouts, deletes, redrive to a dead-letter
 * queue); HealthImaging's GetImageSetMetadata is a local server replaying the documented gzip JSON
 * (moto 5.2.5 has no medical-imaging: contract only).
 */
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
let moto: Moto;
let sqs: SQSClient;
let imaging: MedicalImagingClient;
let metadataServer: Server;
/** What GetImageSetMetadata answers next: 'ok', 'gone' (404 ResourceNotFoundException), 'down' (503). */
let metadataAnswer: 'ok' | 'gone' | 'down' = 'ok';
const metadataRequests: string[] = [];

beforeAll(async () => {
  moto = await startMoto();
  sqs = new SQSClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials });
  metadataServer = createServer((request, response) => {
    metadataRequests.push(`${request.method} ${request.url}`);
    request.resume();
    if (metadataAnswer === 'down') return void response.writeHead(503).end();
    if (metadataAnswer === 'gone') {
      response.writeHead(404, { 'content-type': 'application/json', 'x-amzn-errortype': 'ResourceNotFoundException' });
      return void response.end(JSON.stringify({ message: 'image set not found' }));
    }
    response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    response.end(gzipSync(JSON.stringify(imageSetMetadata())));
  });
  await new Promise<void>((resolve) => metadataServer.listen(0, '127.0.0.1', resolve));
  imaging = new MedicalImagingClient({
    endpoint: `http://127.0.0.1:${(metadataServer.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials,
    disableHostPrefix: true, // the runtime- host prefix would name another host than the local server
    maxAttempts: 1,
  });
}, 120_000);

afterAll(async () => {
  sqs?.destroy();
  imaging?.destroy();
  await new Promise((resolve) => metadataServer?.close(resolve));
  await moto?.stop();
});

/** A SourceReport that keeps what it was told, for the assertions. */
class Reports implements SourceReport {
  readonly malformedReasons: string[] = [];
  readonly skippedReasons: string[] = [];
  readonly warnings: string[] = [];
  malformed(reason: string): void {
    this.malformedReasons.push(reason);
  }
  skipped(reason: string): void {
    this.skippedReasons.push(reason);
  }
  warn(message: string): void {
    this.warnings.push(message);
  }
}

const reporter = () => new Reports();

async function queue(name: string, attributes: Record<string, string> = {}): Promise<string> {
  const created = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  return created.QueueUrl!;
}

async function counts(queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(Attributes['ApproximateNumberOfMessages']),
    inFlight: Number(Attributes['ApproximateNumberOfMessagesNotVisible']),
  };
}

/** Runs the source until `until` holds (or 15 s), accepting with `accept`; returns what it accepted. */
async function runSource(
  queueUrl: string,
  report: SourceReport,
  until: (accepted: InstanceNotification[][]) => boolean | Promise<boolean>,
  accept: (n: InstanceNotification[]) => Promise<void> = () => Promise.resolve(),
): Promise<{ accepted: InstanceNotification[][]; error?: unknown }> {
  const source = new HealthImagingSqsSource({
    store: 'aws',
    datastoreId: DATASTORE_ID,
    queueUrl,
    sqs,
    imaging,
    report,
    waitTimeSeconds: 1,
  });
  const accepted: InstanceNotification[][] = [];
  const stop = new AbortController();
  const outcome: { error?: unknown } = {};
  const running = source
    .run(
      (n) => {
        accepted.push(n);
        return accept(n);
      },
      stop.signal,
      () => undefined,
    )
    .catch((error: unknown) => (outcome.error = error));
  const deadline = Date.now() + 15_000;
  for (;;) {
    // The source's own failure ends the wait as well (it sets outcome.error meanwhile).
    if (Date.now() >= deadline || 'error' in outcome || (await until(accepted))) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  stop.abort();
  await running;
  return { accepted, ...outcome };
}

describe('HealthImaging through EventBridge → SQS (moto) with the real AWS SDK', () => {
  it('an Image Set Created event becomes one series notification per series of the set; the message is deleted once durable', async () => {
    const queueUrl = await queue('intake-created');
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: imageSetEvent('Image Set Created') }));
    metadataRequests.length = 0;
    const report = reporter();
    const { accepted } = await runSource(
      queueUrl,
      report,
      async (a) => a.length === 1 && (await counts(queueUrl)).inFlight === 0,
    );
    expect(accepted).toEqual([
      SERIES_UIDS.map((series) => ({
        store: 'aws',
        level: 'series',
        studyInstanceUid: STUDY_UID,
        seriesInstanceUid: series,
      })),
    ]);
    expect(metadataRequests).toEqual([`POST /datastore/${DATASTORE_ID}/imageSet/${IMAGE_SET_ID}/getImageSetMetadata`]);
    expect(await counts(queueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('not durable (accept rejects): the message is not deleted and SQS delivers it again', async () => {
    const queueUrl = await queue('intake-not-durable', { VisibilityTimeout: '1' });
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: imageSetEvent('Image Set Updated') }));
    let attempts = 0;
    const { accepted } = await runSource(
      queueUrl,
      reporter(),
      async (a) => a.length >= 2 && (await counts(queueUrl)).inFlight + (await counts(queueUrl)).visible === 0,
      () => (++attempts === 1 ? Promise.reject(new Error('state not written')) : Promise.resolve()),
    );
    expect(accepted.length).toBe(2); // the same event, delivered again after the visibility timeout
    expect(accepted[1]).toEqual(accepted[0]);
    expect(await counts(queueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('malformed bodies are reported and left for the redrive policy: they end in the dead-letter queue, nothing lost', async () => {
    const dlqUrl = await queue('intake-dlq');
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
    );
    const queueUrl = await queue('intake-malformed', {
      VisibilityTimeout: '1',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes['QueueArn'], maxReceiveCount: '2' }),
    });
    for (const body of ['not json', '{"source":"aws.s3","detail-type":"Object Created","detail":{}}', '[1,2]']) {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    }
    const report = reporter();
    const { accepted } = await runSource(queueUrl, report, async () => (await counts(dlqUrl)).visible === 3);
    expect(accepted).toEqual([]);
    expect(new Set(report.malformedReasons)).toEqual(
      new Set(['body is not JSON', 'not an aws.medical-imaging event', 'body is not a JSON object']),
    );
    const inDlq = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10 }));
    expect(inDlq.Messages?.map((m) => m.Body).toSorted()).toEqual(
      ['not json', '{"source":"aws.s3","detail-type":"Object Created","detail":{}}', '[1,2]'].toSorted(),
    );
  });

  it('another data store, an unwatched event type, a deleted image set: reported as skipped and deleted', async () => {
    const queueUrl = await queue('intake-skipped');
    const bodies = [
      imageSetEvent('Image Set Created', { datastoreId: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' }),
      imageSetEvent('Image Set Deleting'),
      imageSetEvent('Image Set Created', { imageSetState: 'LOCKED' }),
      imageSetEvent('Image Set Created'),
    ];
    for (const body of bodies) await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    metadataAnswer = 'gone';
    const report = reporter();
    try {
      await runSource(queueUrl, report, async () => {
        const c = await counts(queueUrl);
        return report.skippedReasons.length === 4 && c.visible + c.inFlight === 0;
      });
    } finally {
      metadataAnswer = 'ok';
    }
    expect(new Set(report.skippedReasons)).toEqual(
      new Set(['unknown-store', 'event type not watched', 'image set not active', 'image set gone or without a study']),
    );
    expect(await counts(queueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('HealthImaging down: the source fails with a transient error and the message stays for later', async () => {
    const queueUrl = await queue('intake-platform-down', { VisibilityTimeout: '1' });
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: imageSetEvent('Image Set Created') }));
    metadataAnswer = 'down';
    let result;
    try {
      result = await runSource(queueUrl, reporter(), () => false);
    } finally {
      metadataAnswer = 'ok';
    }
    expect(result.accepted).toEqual([]);
    expect(String(result.error)).toMatch(/HealthImaging GetImageSetMetadata failed/);
    // Still on the queue: the next run (the engine's, after its back-off) finds it.
    const after = await runSource(queueUrl, reporter(), (a) => a.length === 1);
    expect(after.accepted[0]).toHaveLength(2);
  });

  it('SQS down: ReceiveMessage fails with a transient error naming SQS', async () => {
    const broken = new HealthImagingSqsSource({
      store: 'aws',
      datastoreId: DATASTORE_ID,
      queueUrl: 'http://127.0.0.1:1/111122223333/none',
      sqs: new SQSClient({ endpoint: 'http://127.0.0.1:1', region: 'us-east-1', credentials, maxAttempts: 1 }),
      imaging,
      report: reporter(),
      waitTimeSeconds: 1,
    });
    await expect(
      broken.run(
        () => Promise.resolve(),
        new AbortController().signal,
        () => undefined,
      ),
    ).rejects.toThrow(/SQS ReceiveMessage failed/);
  });
});
