import { parseConfig } from '@app/config';
import { NoUsableSeriesError } from '@app/dicom';
import { PermanentError, TransientError } from '@app/errors';
import type { VolumeAnalyzer } from '@app/inference';
import type { StudySource } from '@app/ingest';
import {
  encodeEvent,
  FailureReason,
  newStudyAvailable,
  StudyAvailableSchema,
  type ConsumedMessage,
  type ConsumerStatus,
  type DeadLetterReason,
  type MessageHandler,
  type MessageLoop,
  type TriageCompleted,
  type TriageFailed,
} from '@app/messaging';
import { segUids } from '@app/seg';
import { srUids } from '@app/sr';
import { afterEach, describe, expect, it } from 'vitest';
import { JsonLogger } from './json-logger.js';
import { startTestWorker } from './testing/test-worker.js';
import {
  ANALYZER,
  ARCHIVE_INDEX,
  ARCHIVE_SINK,
  DEPENDENCY_HEALTH,
  FRAME_DECODER,
  REPORT_INDEX,
  REPORT_SINK,
  RESULT_PUBLISHER,
  STUDY_SOURCES,
} from './tokens.js';

/**
 * The worker's Nest application (module, controller, pipe, exception filter, our transport)
 * with its adapters replaced by fakes and the broker by FakeLoop: each test delivers a
 * message as the Kafka loop would and reads the disposition the loop would act on.
 */

const STUDY = '1.2.826.0.1.3680043.8.498.1';
const CT = '1.2.826.0.1.3680043.8.498.2';
const TOPIC = 'triage.study-available.v1';
const model = { id: 'test-model', name: 'Test model', version: '1' };

/** The broker side: hands each message to the transport, as KafkaStudyConsumer does. */
class FakeLoop implements MessageLoop {
  private handler?: MessageHandler;
  readonly status: ConsumerStatus = { connected: true, inFlight: 0, groupJoins: 1, retrying: [] };
  async start(handler: MessageHandler) {
    this.handler = handler;
  }
  async stop() {}
  deliver(consumed: ConsumedMessage, signal = new AbortController().signal, deliveries = 1, refetches = 0) {
    return this.handler!(consumed, { signal, deliveries, stillOwned: () => true, refetches });
  }
}

class RecordingPublisher {
  isConnected = true;
  async connect() {}
  async disconnect() {}
  completed: TriageCompleted[] = [];
  failed: TriageFailed[] = [];
  deadLetters: { original: ConsumedMessage; reason: DeadLetterReason }[] = [];
  failWith?: Error;
  /** Refuses TriageCompleted only (a deleted result topic). */
  refuseCompletedWith?: Error;
  async publishCompleted(event: TriageCompleted) {
    if (this.failWith ?? this.refuseCompletedWith) throw this.failWith ?? this.refuseCompletedWith;
    this.completed.push(event);
  }
  async publishFailed(event: TriageFailed) {
    if (this.failWith) throw this.failWith;
    this.failed.push(event);
  }
  async publishDeadLetter(original: ConsumedMessage, reason: DeadLetterReason) {
    this.deadLetters.push({ original, reason });
  }
}

/** A study source whose inventory fails with the given errors, one per call (the last repeats). */
function failingSource(errors: Error[], calls: { n: number }): StudySource {
  return {
    label: 'test',
    inventory: async () => {
      throw errors[Math.min(calls.n++, errors.length - 1)];
    },
    // oxlint-disable-next-line require-yield
    async *instances() {
      throw new Error('never reached');
    },
  };
}

const running: { close: () => Promise<void> }[] = [];
afterEach(async () => {
  for (const worker of running.splice(0)) await worker.close();
});

/** A study source whose archive never answers: only the signal it was given ends the wait. */
function stalledSource(signal: AbortSignal): StudySource {
  return {
    label: 'stalled',
    inventory: () =>
      new Promise((_, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
      ),
    // oxlint-disable-next-line require-yield
    async *instances() {
      throw new Error('never reached');
    },
  };
}

async function setup(
  options: {
    errors?: Error[];
    series?: { seriesInstanceUid: string; modality?: string }[];
    stalled?: boolean;
    environment?: Record<string, string>;
    /** What the dependency probes say is down when a study's retries run out. */
    unavailable?: string[];
  } = {},
) {
  const publisher = new RecordingPublisher();
  const calls = { n: 0 };
  const lines: Record<string, unknown>[] = [];
  const analyzer: VolumeAnalyzer = {
    model,
    executionProviders: ['cpu'],
    analyze: () => Promise.reject(new Error('not used')),
    close: async () => undefined,
  };
  const config = parseConfig({
    DICOMWEB_BASE_URL: 'http://archive/dicom-web',
    FHIR_IDENTIFIER_SYSTEM: 'https://example.org/id',
    WORKER_RETRY_ATTEMPTS: '3',
    WORKER_RETRY_INITIAL_DELAY_MS: '1',
    WORKER_RETRY_MAX_DELAY_MS: '2',
    KAFKA_TOPIC_STUDY_AVAILABLE: TOPIC,
    HTTP_PORT: '0',
    ...options.environment,
  });
  const loop = new FakeLoop();
  const worker = await startTestWorker(config, {
    loop,
    logger: new JsonLogger('debug', {}, (line) => void lines.push(JSON.parse(line) as Record<string, unknown>)),
    overrides: [
      { token: ANALYZER, value: analyzer },
      { token: ARCHIVE_SINK, value: { label: 'a', store: () => Promise.reject(new Error('not used')) } },
      { token: REPORT_SINK, value: { label: 'r', write: () => Promise.reject(new Error('not used')) } },
      { token: ARCHIVE_INDEX, value: { seriesOfStudy: async () => options.series ?? [] } },
      {
        token: REPORT_INDEX,
        value: {
          findReport: async () => ({
            diagnosticReport: 'DiagnosticReport/7',
            covidProbability: 0.9,
            severityPercent: 30,
            lungs: [],
          }),
        },
      },
      {
        token: STUDY_SOURCES,
        value: (_uid: string, signal: AbortSignal) =>
          options.stalled ? stalledSource(signal) : failingSource(options.errors ?? [new Error('no source')], calls),
      },
      { token: RESULT_PUBLISHER, value: publisher },
      { token: DEPENDENCY_HEALTH, value: { unavailable: async () => options.unavailable ?? [] } },
      { token: FRAME_DECODER, value: { decode: () => Promise.reject(new Error('not used')), close: async () => {} } },
    ],
  });
  running.push(worker);
  const handler = {
    handle: (m: ConsumedMessage, signal?: AbortSignal, deliveries?: number, refetches?: number) =>
      loop.deliver(m, signal, deliveries, refetches),
  };
  return { handler, publisher, calls, lines };
}

function message(value: Buffer | null): ConsumedMessage {
  return { topic: TOPIC, partition: 0, offset: '41', key: null, value, headers: { a: 'b' }, timestamp: '0' };
}

const studyAvailable = (init: Partial<Parameters<typeof newStudyAvailable>[0]> = {}) =>
  message(encodeEvent(StudyAvailableSchema, newStudyAvailable({ studyInstanceUid: STUDY, ...init })).value);

describe('the worker application, message by message', () => {
  it('parks malformed JSON: TriageFailed without study and the original bytes on the dead-letter topic', async () => {
    const { handler, publisher } = await setup();
    const bytes = Buffer.from('{not json');
    expect(await handler.handle(message(bytes))).toBe('commit');
    expect(publisher.failed).toHaveLength(1);
    expect(publisher.failed[0]).toMatchObject({ reason: FailureReason.MALFORMED_EVENT, studyInstanceUid: '' });
    expect(publisher.deadLetters[0].original.value).toBe(bytes);
    expect(publisher.deadLetters[0].reason).toMatchObject({ code: 'MALFORMED_EVENT', attempts: 1 });
    expect(publisher.deadLetters[0].reason.correlationId).toBe(publisher.failed[0].eventId);
  });

  it('retries transient failures, then parks the permanent one with the attempts made', async () => {
    const { handler, publisher, calls } = await setup({
      errors: [
        new TransientError('archive busy'),
        new NoUsableSeriesError([{ seriesInstanceUid: CT, description: '', reason: 'localizer' }]),
      ],
    });
    expect(await handler.handle(studyAvailable())).toBe('commit');
    expect(calls.n).toBe(2);
    expect(publisher.failed[0]).toMatchObject({
      reason: FailureReason.NO_USABLE_SERIES,
      studyInstanceUid: STUDY,
      attempts: 2,
      rejectedSeries: [expect.objectContaining({ seriesInstanceUid: CT, reason: 'localizer' })],
    });
    expect(publisher.completed).toHaveLength(0);
  });

  it('waits out an outage instead of parking: retries run out while the FHIR server is down for everyone', async () => {
    const { handler, publisher, calls, lines } = await setup({
      errors: [new TransientError('FHIR down')],
      unavailable: ['FHIR server'],
    });
    expect(await handler.handle(studyAvailable())).toBe('retry');
    expect(calls.n).toBe(3);
    expect(publisher.failed).toHaveLength(0);
    expect(publisher.deadLetters).toHaveLength(0);
    expect(lines.find((l) => l.why === 'DependencyUnavailableError')?.error).toMatch(/^FHIR server unavailable: /);
  });

  it('gives up with RETRIES_EXHAUSTED when every server answers its probe, after one more round (the outage may just have ended)', async () => {
    const { handler, publisher, calls } = await setup({ errors: [new TransientError('FHIR down')] });
    expect(await handler.handle(studyAvailable())).toBe('retry');
    expect(publisher.failed).toHaveLength(0);
    expect(await handler.handle(studyAvailable(), undefined, undefined, 1)).toBe('commit');
    expect(calls.n).toBe(6);
    expect(publisher.failed[0]).toMatchObject({ reason: FailureReason.RETRIES_EXHAUSTED, attempts: 3 });
    expect(publisher.deadLetters).toHaveLength(1);
  });

  it('leaves the message uncommitted and says nothing when shutdown interrupts it', async () => {
    const { handler, publisher } = await setup({ errors: [new TransientError('down')] });
    const controller = new AbortController();
    controller.abort(new Error('shutdown deadline passed'));
    expect(await handler.handle(studyAvailable(), controller.signal)).toBe('leave');
    expect(publisher.failed).toHaveLength(0);
  });

  it('skips an event that only announces our own SEG and SR; answers an already triaged study from its report', async () => {
    const seg = segUids(CT, model).seriesInstanceUid;
    const sr = srUids(CT, model).seriesInstanceUid;
    const series = [
      { seriesInstanceUid: CT, modality: 'CT' },
      { seriesInstanceUid: seg, modality: 'SEG' },
      { seriesInstanceUid: sr, modality: 'SR' },
    ];
    const { handler, publisher, calls, lines } = await setup({ series });
    expect(await handler.handle(studyAvailable({ seriesInstanceUids: [seg, sr] }))).toBe('commit');
    expect(await handler.handle(studyAvailable())).toBe('commit');
    expect(calls.n).toBe(0);
    expect(publisher.failed).toHaveLength(0);
    expect(lines.filter((l) => l.skip).map((l) => l.skip)).toEqual(['own-output', 'already-triaged']);
    // The already-triaged study is answered again from the stored report (its answer may have been lost).
    expect(publisher.completed).toHaveLength(1);
    expect(publisher.completed[0]).toMatchObject({
      studyInstanceUid: STUDY,
      seriesInstanceUid: CT,
      diagnosticReport: 'DiagnosticReport/7',
      covidProbability: 0.9,
      segmentation: { sopInstanceUid: segUids(CT, model).sopInstanceUid },
      structuredReport: { sopInstanceUid: srUids(CT, model).sopInstanceUid },
    });
    expect(lines.every((l) => l.studyInstanceUid === undefined || l.studyInstanceUid === STUDY)).toBe(true);
  });

  it('refuses a valid body labelled as another event type (MALFORMED_EVENT), never triaging it as v1', async () => {
    const { handler, publisher, calls } = await setup();
    const labelled = { ...studyAvailable(), headers: { 'event-type': 'covidtriage.events.v2.StudyAvailable' } };
    expect(await handler.handle(labelled)).toBe('commit');
    expect(calls.n).toBe(0);
    expect(publisher.failed[0]).toMatchObject({ reason: FailureReason.MALFORMED_EVENT, studyInstanceUid: STUDY });
    expect(publisher.failed[0].message).toMatch(/event-type header says "covidtriage\.events\.v2\.StudyAvailable"/);
  });

  it('refuses an event naming an archive it is not configured for', async () => {
    const { handler, publisher, calls } = await setup();
    await handler.handle(studyAvailable({ dicomwebBaseUrl: 'https://elsewhere/dicom-web' }));
    expect(calls.n).toBe(0);
    expect(publisher.failed[0].reason).toBe(FailureReason.STUDY_NOT_FOUND);
  });

  it('fails the delivery (nothing committed; the loop fetches it again) when the broker refuses the answer', async () => {
    const { handler, publisher } = await setup({ errors: [new PermanentError('STUDY_NOT_FOUND', 'gone')] });
    publisher.failWith = new Error('broker unavailable');
    await expect(handler.handle(studyAvailable())).rejects.toThrow('broker unavailable');
  });

  it('asks for the message again, parking nothing, when the broker refuses a TriageCompleted (result topic missing)', async () => {
    const series = [
      { seriesInstanceUid: CT, modality: 'CT' },
      { seriesInstanceUid: segUids(CT, model).seriesInstanceUid, modality: 'SEG' },
      { seriesInstanceUid: srUids(CT, model).seriesInstanceUid, modality: 'SR' },
    ];
    const { handler, publisher, lines } = await setup({ series });
    publisher.refuseCompletedWith = new Error('This server does not host this topic-partition');
    expect(await handler.handle(studyAvailable())).toBe('retry');
    expect(publisher.failed).toHaveLength(0);
    expect(publisher.deadLetters).toHaveLength(0);
    expect(lines.find((l) => l.msg === 'not finished, not failed: fetching the message again after a pause')?.why).toBe(
      'AnswerNotPublishedError',
    );
    // Once the topic is back, the next delivery answers from the stored report.
    publisher.refuseCompletedWith = undefined;
    expect(await handler.handle(studyAvailable())).toBe('commit');
    expect(publisher.completed).toHaveLength(1);
  });

  it('parks a message whose deliveries killed WORKER_MAX_DELIVERIES processes, unprocessed (WORKER_DIED)', async () => {
    const { handler, publisher, calls } = await setup({ errors: [new TransientError('never reached')] });
    expect(await handler.handle(studyAvailable(), undefined, 4)).toBe('commit');
    expect(calls.n).toBe(0);
    expect(publisher.failed[0]).toMatchObject({ reason: FailureReason.WORKER_DIED, studyInstanceUid: STUDY });
    expect(publisher.deadLetters[0].reason.message).toMatch(/died 3 times/);
  });

  it('still handles the delivery after as many deaths as allowed but one', async () => {
    const { handler, calls } = await setup({ errors: [new PermanentError('STUDY_NOT_FOUND', 'gone')] });
    expect(await handler.handle(studyAvailable(), undefined, 3)).toBe('commit');
    expect(calls.n).toBe(1);
  });

  it('parks a study that outlasts WORKER_STUDY_DEADLINE_MS, aborting the request under way (DEADLINE_EXCEEDED)', async () => {
    const { handler, publisher } = await setup({ stalled: true, environment: { WORKER_STUDY_DEADLINE_MS: '200' } });
    const started = Date.now();
    expect(await handler.handle(studyAvailable())).toBe('commit');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(publisher.failed[0]).toMatchObject({ reason: FailureReason.DEADLINE_EXCEEDED, studyInstanceUid: STUDY });
    expect(publisher.failed[0].message).toMatch(/WORKER_STUDY_DEADLINE_MS=200/);
  });

  it('parks an unexpected exception from the handler as INTERNAL instead of letting it escape', async () => {
    const { handler, publisher } = await setup({ errors: [new TypeError('a bug')] });
    expect(await handler.handle(studyAvailable())).toBe('commit');
    expect(publisher.failed[0]).toMatchObject({ reason: FailureReason.INTERNAL, attempts: 1 });
    expect(publisher.deadLetters).toHaveLength(1);
  });
});
