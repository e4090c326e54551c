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
  type DeadLetterReason,
  type TriageCompleted,
  type TriageFailed,
} from '@app/messaging';
import { segUids } from '@app/seg';
import { srUids } from '@app/sr';
import { describe, expect, it } from 'vitest';
import { JsonLogger } from './json-logger.js';
import { MemoryBudget } from './memory-budget.js';
import { StudyEventHandler, type ResultPublisher } from './study-event-handler.js';

const STUDY = '1.2.826.0.1.3680043.8.498.1';
const CT = '1.2.826.0.1.3680043.8.498.2';
const model = { id: 'test-model', name: 'Test model', version: '1' };

class RecordingPublisher implements ResultPublisher {
  completed: TriageCompleted[] = [];
  failed: TriageFailed[] = [];
  deadLetters: { original: ConsumedMessage; reason: DeadLetterReason }[] = [];
  failWith?: Error;
  async publishCompleted(event: TriageCompleted) {
    if (this.failWith) throw this.failWith;
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

function setup(options: { errors?: Error[]; series?: { seriesInstanceUid: string; modality?: string }[] } = {}) {
  const publisher = new RecordingPublisher();
  const calls = { n: 0 };
  const lines: Record<string, unknown>[] = [];
  const analyzer: VolumeAnalyzer = {
    model,
    executionProviders: ['cpu'],
    analyze: () => Promise.reject(new Error('not used')),
    close: async () => undefined,
  };
  const handler = new StudyEventHandler(
    {
      analyzer,
      archive: { label: 'a', store: () => Promise.reject(new Error('not used')) },
      reports: { label: 'r', write: () => Promise.reject(new Error('not used')) },
      archiveIndex: { seriesOfStudy: async () => options.series ?? [] },
      reportIndex: { hasReport: async () => true },
      studySource: () => failingSource(options.errors ?? [new Error('no source')], calls),
      publisher,
      memory: new MemoryBudget(1024),
      log: new JsonLogger('debug', {}, (line) => void lines.push(JSON.parse(line) as Record<string, unknown>)),
    },
    {
      archiveBaseUrl: 'http://archive/dicom-web',
      identifierSystem: 'https://example.org/id',
      retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
    },
  );
  return { handler, publisher, calls, lines };
}

function message(value: Buffer | null): ConsumedMessage {
  return { topic: 't', partition: 0, offset: '41', key: null, value, headers: { a: 'b' }, timestamp: '0' };
}

const studyAvailable = (init: Partial<Parameters<typeof newStudyAvailable>[0]> = {}) =>
  message(encodeEvent(StudyAvailableSchema, newStudyAvailable({ studyInstanceUid: STUDY, ...init })).value);

const context = () => ({ signal: new AbortController().signal });

describe('StudyEventHandler', () => {
  it('parks malformed JSON: TriageFailed without study and the original bytes on the dead-letter topic', async () => {
    const { handler, publisher } = setup();
    const bytes = Buffer.from('{not json');
    expect(await handler.handle(message(bytes), context())).toBe('commit');
    expect(publisher.failed).toHaveLength(1);
    expect(publisher.failed[0]).toMatchObject({ reason: FailureReason.MALFORMED_EVENT, studyInstanceUid: '' });
    expect(publisher.deadLetters[0].original.value).toBe(bytes);
    expect(publisher.deadLetters[0].reason).toMatchObject({ code: 'MALFORMED_EVENT', attempts: 1 });
    expect(publisher.deadLetters[0].reason.correlationId).toBe(publisher.failed[0].eventId);
  });

  it('retries transient failures, then parks the permanent one with the attempts made', async () => {
    const { handler, publisher, calls } = setup({
      errors: [
        new TransientError('archive busy'),
        new NoUsableSeriesError([{ seriesInstanceUid: CT, description: '', reason: 'localizer' }]),
      ],
    });
    expect(await handler.handle(studyAvailable(), context())).toBe('commit');
    expect(calls.n).toBe(2);
    expect(publisher.failed[0]).toMatchObject({
      reason: FailureReason.NO_USABLE_SERIES,
      studyInstanceUid: STUDY,
      attempts: 2,
      rejectedSeries: [expect.objectContaining({ seriesInstanceUid: CT, reason: 'localizer' })],
    });
    expect(publisher.completed).toHaveLength(0);
  });

  it('gives up after the configured attempts with RETRIES_EXHAUSTED, never looping', async () => {
    const { handler, publisher, calls } = setup({ errors: [new TransientError('FHIR down')] });
    expect(await handler.handle(studyAvailable(), context())).toBe('commit');
    expect(calls.n).toBe(3);
    expect(publisher.failed[0]).toMatchObject({ reason: FailureReason.RETRIES_EXHAUSTED, attempts: 3 });
    expect(publisher.deadLetters).toHaveLength(1);
  });

  it('leaves the message uncommitted and says nothing when shutdown interrupts it', async () => {
    const { handler, publisher } = setup({ errors: [new TransientError('down')] });
    const controller = new AbortController();
    controller.abort(new Error('shutdown deadline passed'));
    expect(await handler.handle(studyAvailable(), { signal: controller.signal })).toBe('leave');
    expect(publisher.failed).toHaveLength(0);
  });

  it('skips an event that only announces our own SEG and SR, and a study already triaged', async () => {
    const seg = segUids(CT, model).seriesInstanceUid;
    const sr = srUids(CT, model).seriesInstanceUid;
    const series = [
      { seriesInstanceUid: CT, modality: 'CT' },
      { seriesInstanceUid: seg, modality: 'SEG' },
      { seriesInstanceUid: sr, modality: 'SR' },
    ];
    const { handler, publisher, calls, lines } = setup({ series });
    expect(await handler.handle(studyAvailable({ seriesInstanceUids: [seg, sr] }), context())).toBe('commit');
    expect(await handler.handle(studyAvailable(), context())).toBe('commit');
    expect(calls.n).toBe(0);
    expect(publisher.failed).toHaveLength(0);
    expect(lines.filter((l) => l.skip).map((l) => l.skip)).toEqual(['own-output', 'already-triaged']);
    expect(lines.every((l) => l.studyInstanceUid === undefined || l.studyInstanceUid === STUDY)).toBe(true);
  });

  it('refuses an event naming an archive it is not configured for', async () => {
    const { handler, publisher, calls } = setup();
    await handler.handle(studyAvailable({ dicomwebBaseUrl: 'https://elsewhere/dicom-web' }), context());
    expect(calls.n).toBe(0);
    expect(publisher.failed[0].reason).toBe(FailureReason.STUDY_NOT_FOUND);
  });

  it('throws (nothing committed) when the broker refuses the answer', async () => {
    const { handler, publisher } = setup({ errors: [new PermanentError('STUDY_NOT_FOUND', 'gone')] });
    publisher.failWith = new Error('broker unavailable');
    await expect(handler.handle(studyAvailable(), context())).rejects.toThrow('broker unavailable');
  });
});
