import { PubSub } from '@google-cloud/pubsub';
import {
  PubSubPullSource,
  PubSubPushSource,
  PushEndpoint,
  type InstanceNotification,
  type SourceReport,
} from '@app/intake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DICOM_STORE,
  instanceAttributes,
  instanceResourceName,
  pushBody,
  SERIES,
  STUDY,
} from '../fixtures/cloud/google-healthcare.js';
import { pubsubEmulatorBinary, startPubSubEmulator, type PubSubEmulator } from '../support/pubsub-emulator.js';

/**
 * The intake's Pub/Sub pull adapter with the real @google-cloud/pubsub against Google's Pub/Sub
 * emulator (where the machine has it: see test/support/pubsub-emulator.ts), messages as the
 * Healthcare API publishes them (fixtures/cloud/google-healthcare.ts).
 */
const binary = pubsubEmulatorBinary();
let emulator: PubSubEmulator;
let pubsub: PubSub;

class Reports implements SourceReport {
  readonly malformedReasons: string[] = [];
  readonly skippedReasons: string[] = [];
  malformed(reason: string): void {
    this.malformedReasons.push(reason);
  }
  skipped(reason: string): void {
    this.skippedReasons.push(reason);
  }
  warn(): void {}
}

async function subscriptionFor(name: string) {
  const [topic] = await pubsub.createTopic(`${name}-topic`);
  const [subscription] = await topic.createSubscription(name, { ackDeadlineSeconds: 10 });
  return { topic, subscription };
}

/** Runs the source until `until` holds (or `waitMs`); returns what it accepted. */
async function run(
  source: PubSubPullSource,
  until: (accepted: InstanceNotification[][]) => boolean,
  accept: () => Promise<void> = () => Promise.resolve(),
  waitMs = 20_000,
) {
  const accepted: InstanceNotification[][] = [];
  const stop = new AbortController();
  const running = source.run(
    (n) => {
      accepted.push(n);
      return accept();
    },
    stop.signal,
    () => undefined,
  );
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline && !until(accepted)) await new Promise((resolve) => setTimeout(resolve, 100));
  stop.abort();
  await running;
  return accepted;
}

describe.skipIf(!binary)('Google Cloud Healthcare through a Pub/Sub pull subscription (the Pub/Sub emulator)', () => {
  beforeAll(async () => {
    emulator = await startPubSubEmulator(binary!);
    pubsub = new PubSub({ projectId: 'triage-test', apiEndpoint: emulator.host, emulatorMode: true });
  }, 90_000);
  afterAll(async () => {
    await pubsub?.close();
    await emulator?.stop();
  });

  it('each stored instance becomes an instance notification (with and without attributes); acked messages do not come again', async () => {
    const { topic, subscription } = await subscriptionFor('intake-instances');
    await topic.publishMessage({
      data: Buffer.from(instanceResourceName(`${SERIES}.1`)),
      attributes: instanceAttributes(`${SERIES}.1`),
    });
    await topic.publishMessage({ data: Buffer.from(instanceResourceName(`${SERIES}.2`)) }); // an older store: no attributes
    const report = new Reports();
    const source = new PubSubPullSource({ store: 'google', dicomStore: DICOM_STORE, subscription, report });
    const accepted = await run(source, (a) => a.length === 2);
    expect(accepted.flat().toSorted((a, b) => a.sopInstanceUid!.localeCompare(b.sopInstanceUid!))).toEqual(
      ['1', '2'].map((n) => ({
        store: 'google',
        level: 'instance',
        studyInstanceUid: STUDY,
        seriesInstanceUid: SERIES,
        sopInstanceUid: `${SERIES}.${n}`,
      })),
    );
    // Acked: a new run over the same subscription receives nothing more.
    const again = await run(
      new PubSubPullSource({
        store: 'google',
        dicomStore: DICOM_STORE,
        subscription: pubsub.subscription('intake-instances'),
        report,
      }),
      () => false,
      undefined,
      3_000,
    );
    expect(again).toEqual([]);
  }, 60_000);

  it('not durable: nacked and delivered again; malformed: reported and nacked; another store: reported and acked', async () => {
    const { topic, subscription } = await subscriptionFor('intake-bad');
    await topic.publishMessage({ data: Buffer.from(instanceResourceName(`${SERIES}.3`)) });
    await topic.publishMessage({ data: Buffer.from('not a resource name') });
    await topic.publishMessage({
      data: Buffer.from(instanceResourceName(`${SERIES}.4`, 'projects/other/locations/us/datasets/d/dicomStores/s')),
    });
    const report = new Reports();
    let attempts = 0;
    const source = new PubSubPullSource({ store: 'google', dicomStore: DICOM_STORE, subscription, report });
    const accepted = await run(
      source,
      (a) => a.filter((n) => n.length > 0).length >= 2 && report.malformedReasons.length >= 2,
      () => (++attempts === 1 ? Promise.reject(new Error('state not written')) : Promise.resolve()),
    );
    const instances = accepted.filter((n) => n.length > 0); // another store's message is acked with none
    expect(instances[0]).toEqual(instances[1]); // the same instance, redelivered after the nack
    expect(instances[0]).toHaveLength(1);
    expect(report.malformedReasons.length).toBeGreaterThanOrEqual(2); // nacked: it keeps coming (dead-letter policy's job)
    expect(report.skippedReasons).toEqual(['unknown-store']);
  }, 60_000);

  it('the subscription gone (platform failing): the probe ends the run with a transient error; run again once it is back', async () => {
    const { topic, subscription } = await subscriptionFor('intake-gone');
    const report = new Reports();
    const source = new PubSubPullSource({
      store: 'google',
      dicomStore: DICOM_STORE,
      subscription,
      report,
      probeIntervalMs: 500,
    });
    const stop = new AbortController();
    const running = source.run(
      () => Promise.resolve(),
      stop.signal,
      () => undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    await subscription.delete();
    const failure = await Promise.race([
      running.then(
        () => 'resolved',
        (error: unknown) => error,
      ),
      new Promise((resolve) => setTimeout(() => resolve('still running'), 15_000)),
    ]);
    stop.abort();
    expect(String(failure)).toMatch(/Pub\/Sub subscription failed/);
    // Back: the topic's messages published meanwhile reach a new subscription of the same name.
    const [again] = await topic.createSubscription('intake-gone');
    await topic.publishMessage({ data: Buffer.from(instanceResourceName(`${SERIES}.9`)) });
    const source2 = new PubSubPullSource({ store: 'google', dicomStore: DICOM_STORE, subscription: again, report });
    const accepted = await run(source2, (a) => a.length === 1);
    expect(accepted.flat().map((n) => n.sopInstanceUid)).toEqual([`${SERIES}.9`]);
  }, 60_000);
});

describe('Google Cloud Healthcare through a Pub/Sub push subscription (documented push bodies)', () => {
  const token = 'push-s3cret';
  let endpoint: PushEndpoint;
  const stop = new AbortController();
  let running: Promise<void>;
  const report = new Reports();
  const accepted: InstanceNotification[][] = [];
  let acceptFails = false;

  beforeAll(async () => {
    endpoint = new PushEndpoint({ port: 0, host: '127.0.0.1', path: '/pubsub', token: () => token });
    const source = new PubSubPushSource({ store: 'google', dicomStore: DICOM_STORE, endpoint, report });
    running = source.run(
      (n) => {
        accepted.push(n);
        return acceptFails ? Promise.reject(new Error('state not written')) : Promise.resolve();
      },
      stop.signal,
      () => undefined,
    );
    while (endpoint.port === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
  });
  afterAll(async () => {
    stop.abort();
    await running;
  });

  const push = (body: string, auth = `Bearer ${token}`) =>
    fetch(`http://127.0.0.1:${endpoint.port}/pubsub`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: auth },
      body,
    });

  it('204 (ack) once durable, 503 (nack) when not, 400 for a malformed body, 204 for another store, 401 without the token', async () => {
    const sopUid = `${SERIES}.7`;
    expect((await push(pushBody(instanceResourceName(sopUid), instanceAttributes(sopUid)))).status).toBe(204);
    expect(accepted).toEqual([
      [
        {
          store: 'google',
          level: 'instance',
          studyInstanceUid: STUDY,
          seriesInstanceUid: SERIES,
          sopInstanceUid: sopUid,
        },
      ],
    ]);
    acceptFails = true;
    try {
      expect((await push(pushBody(instanceResourceName(sopUid)))).status).toBe(503);
    } finally {
      acceptFails = false;
    }
    expect((await push('{"message": {}}')).status).toBe(400);
    expect(
      (
        await push(
          pushBody('projects/x/locations/y/datasets/z/dicomStores/w/dicomWeb/studies/1.2/series/1.3/instances/1.4'),
        )
      ).status,
    ).toBe(204);
    expect((await push(pushBody(instanceResourceName(sopUid)), 'Bearer wrong')).status).toBe(401);
    expect(report.malformedReasons).toContain('push body has no message.data');
    expect(report.skippedReasons).toContain('unknown-store');
  });
});
