import { randomUUID } from 'node:crypto';
import { parseIntakeConfig } from '@app/config';
import { basicAuth, secretOf } from '@app/credentials';
import { syntheticCtSeries } from '@app/dicom/phantom';
import { createDicomwebClient } from '@app/dicomweb';
import { readModelIdentity } from '@app/inference';
import type { IntakeMetrics } from '@app/intake';
import { decodeStudyAvailable, type StudyAvailable } from '@app/messaging';
import { segUids } from '@app/seg';
import { JsonLogger } from '@app/service';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIntake } from '../../apps/intake/src/start-intake.js';
import { stack } from '../support/stack.js';

/**
 * The intake against the real local Orthanc and Kafka: Orthanc's /changes in, StudyAvailable on
 * the broker out, state on a compacted topic. Quiet period 1.5 s (Orthanc's StableAge is 2 s).
 */
const QUIET_MS = 1_500;
const run = randomUUID().slice(0, 8);
const topics = { studyAvailable: `intake-it.study-available.${run}`, state: `intake-it.state.${run}` };
const kafka = new Kafka({ brokers: stack.kafkaBrokers, clientId: 'intake-it', logLevel: logLevel.NOTHING });
const dicomweb = createDicomwebClient({
  baseUrl: stack.dicomwebUrl,
  auth: basicAuth(stack.orthancUsername, secretOf({ value: stack.orthancPassword }, 'ORTHANC_PASSWORD')),
  timeoutMs: 30_000,
});
const environment = {
  KAFKA_BROKERS: stack.kafkaBrokers.join(','),
  KAFKA_TOPIC_STUDY_AVAILABLE: topics.studyAvailable,
  INTAKE_STATE_TOPIC: topics.state,
  INTAKE_TRANSACTIONAL_ID: `intake-it-${run}`,
  INTAKE_SOURCE: 'orthanc',
  INTAKE_STORE: 'orthanc',
  INTAKE_ORTHANC_URL: stack.orthancUrl,
  INTAKE_ORTHANC_AUTH: 'basic',
  INTAKE_ORTHANC_USERNAME: stack.orthancUsername,
  INTAKE_ORTHANC_PASSWORD: stack.orthancPassword,
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
  LOG_LEVEL: 'info',
};

const received: { event: StudyAvailable; at: number }[] = [];
const logLines: Record<string, unknown>[] = [];
const counted: Record<string, number> = {};
const metrics: IntakeMetrics = {
  notification: (_s, o) => void (counted[`notification:${o}`] = (counted[`notification:${o}`] ?? 0) + 1),
  recheck: (_s, o) => void (counted[`recheck:${o}`] = (counted[`recheck:${o}`] ?? 0) + 1),
  published: (_s, r) => void (counted[`published:${r}`] = (counted[`published:${r}`] ?? 0) + 1),
  forgotten: (_s, r) => void (counted[`forgotten:${r}`] = (counted[`forgotten:${r}`] ?? 0) + 1),
  sourceError: () => void (counted.sourceError = (counted.sourceError ?? 0) + 1),
  observePending: () => undefined,
};
const logger = new JsonLogger('info', {}, (line) => void logLines.push(JSON.parse(line) as Record<string, unknown>));
const consumer = kafka.consumer({ groupId: `intake-it-${run}` });
let intake: Awaited<ReturnType<typeof startIntake>> | undefined;

const start = async () => (intake = await startIntake(parseIntakeConfig(environment), logger, { metrics }));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const eventsOf = (study: string) => received.filter((r) => r.event.studyInstanceUid === study);
async function until(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A small synthetic CT series of this study, stored one instance at a time with a pause between. */
async function storeSlowly(study: string, series: string, slices: number, pauseMs: number, modality = 'CT') {
  const made = syntheticCtSeries({
    rows: 16,
    columns: 16,
    slices,
    studyInstanceUid: study,
    seriesInstanceUid: series,
    attributes: { Modality: modality },
  });
  let lastStoredAt = 0;
  for (const instance of made.instances) {
    await dicomweb.store([instance.bytes], study);
    lastStoredAt = Date.now();
    await sleep(pauseMs);
  }
  return lastStoredAt;
}

const uid = () => `2.25.${BigInt(`0x${randomUUID().replaceAll('-', '')}`).toString()}`;

beforeAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: topics.studyAvailable, numPartitions: 1 },
      { topic: topics.state, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    ],
  });
  await admin.disconnect();
  await consumer.connect();
  await consumer.subscribe({ topic: topics.studyAvailable, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) =>
      void received.push({ event: decodeStudyAvailable(message.value), at: Date.now() }),
  });
  await start();
}, 60_000);

afterAll(async () => {
  await intake?.close();
  await consumer.disconnect();
});

describe('intake: Orthanc /changes → StudyAvailable', () => {
  const model = readModelIdentity('models/covid-triage-demo/manifest.json');
  const study = uid();
  const [ct1, ct2, ct3] = [uid(), uid(), uid()];

  it('a study stored slowly in two series: exactly one StudyAvailable after the quiet period', async () => {
    await storeSlowly(study, ct1, 4, 400);
    const lastStoredAt = await storeSlowly(study, ct2, 4, 400);
    await until('version 1', () => eventsOf(study).length > 0);
    await sleep(QUIET_MS * 3);
    const events = eventsOf(study);
    expect(events).toHaveLength(1);
    expect(events[0].event).toMatchObject({ studyVersion: 1, source: 'orthanc', dicomwebBaseUrl: stack.dicomwebUrl });
    expect([...events[0].event.seriesInstanceUids].toSorted()).toEqual([ct1, ct2].toSorted());
    process.stdout.write(`intake delay, last instance stored → StudyAvailable: ${events[0].at - lastStoredAt} ms\n`);
  }, 60_000);

  it('our own SEG stored into it announces nothing', async () => {
    const seg = segUids(ct1, await model).seriesInstanceUid;
    await storeSlowly(study, seg, 1, 0, 'SEG');
    await sleep(QUIET_MS * 4);
    expect(eventsOf(study)).toHaveLength(1);
    expect(counted['notification:own-output']).toBeGreaterThan(0);
  }, 30_000);

  it('a series added later makes version 2, across a restart of the intake mid-way', async () => {
    await storeSlowly(study, ct3, 2, 200);
    await intake!.close(); // before the quiet period ends: the pending study is on the state topic
    await storeSlowly(study, ct3, 2, 200); // stored while the intake is down: read from its cursor
    await start();
    await until('version 2', () => eventsOf(study).length > 1);
    await sleep(QUIET_MS * 3);
    const events = eventsOf(study);
    expect(events.map((e) => e.event.studyVersion)).toEqual([1, 2]);
    expect(events[1].event.seriesInstanceUids).toEqual([ct3]);
    expect(new Set(events.map((e) => e.event.eventId)).size).toBe(2);
  }, 60_000);

  it('measures the delay (median of several studies) and the state per pending study', async () => {
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const other = uid();
      const lastStoredAt = await storeSlowly(other, uid(), 3, 100);
      await until(`study ${i}`, () => eventsOf(other).length > 0);
      delays.push(eventsOf(other)[0].at - lastStoredAt);
    }
    const sorted = delays.toSorted((a, b) => a - b);
    process.stdout.write(`intake delays (quiet ${QUIET_MS} ms): ${sorted.join(', ')} ms; median ${sorted[2]} ms\n`);
    expect(sorted[2]).toBeLessThan(QUIET_MS + 3_000);

    // A pending study's record as written to the state topic: three series of a CT study.
    const { encodeStudyRecord } = await import('@app/intake');
    const bytes = encodeStudyRecord({
      store: 'orthanc',
      study: uid(),
      pending: { firstAt: Date.now(), lastAt: Date.now(), notified: { [uid()]: 300, [uid()]: 120, [uid()]: 1 } },
    }).length;
    process.stdout.write(`state per pending study (3 series, 2.25 UIDs): ${bytes} bytes\n`);
    expect(bytes).toBeLessThan(1024);
  }, 120_000);
});

describe('intake: Orthanc down', () => {
  it('logs once, counts, keeps running and catches up', async () => {
    const { execFileSync } = await import('node:child_process');
    const stackScript = 'scripts/stack/stack.sh';
    execFileSync('bash', [stackScript, 'down', 'orthanc'], { stdio: 'ignore' });
    try {
      await until('a source error', () => (counted.sourceError ?? 0) >= 2, 20_000);
      expect(
        logLines.filter((l) => l.msg === 'source unreachable; the intake keeps polling and catches up from its cursor'),
      ).toHaveLength(1);
    } finally {
      execFileSync('bash', [stackScript, 'up', 'orthanc'], { stdio: 'ignore' });
    }
    const study = uid();
    await storeSlowly(study, uid(), 2, 100);
    await until('the study after the outage', () => eventsOf(study).length === 1, 60_000);
    expect(logLines.some((l) => l.msg === 'source reachable again')).toBe(true);
  }, 120_000);
});
