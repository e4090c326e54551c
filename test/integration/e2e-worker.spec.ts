import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig } from '@app/config';
import { newUid, readPart10 } from '@app/dicom';
import { phantomStudy, syntheticCtSeries } from '@app/dicom/phantom';
import { DEAD_LETTER_HEADERS } from '@app/messaging';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonLogger } from '../../apps/worker/src/json-logger.js';
import { startWorker } from '../../apps/worker/src/start-worker.js';
import { hasRealCt, REAL_CT_DIR } from '../support/real-data.js';
import { assertReachable, stack } from '../support/stack.js';
import {
  archive,
  createTopics,
  expectHealthy,
  deleteSeriesFromOrthanc,
  EventSender,
  fhirGet,
  reportsReferencing,
  seriesOfStudy,
  storeInstances,
  TopicRecorder,
  uniqueTopics,
  workerEnvironment,
  type RecordedMessage,
} from '../support/worker-harness.js';

/**
 * The worker end to end against the real stack, in this process: Kafka in, Orthanc
 * (DICOMweb) and HAPI FHIR out, with the model from models/covid-triage-demo. One
 * partition, so events are handled in the order they are sent.
 */
const topics = uniqueTopics('e2e-worker');
const recorder = new TopicRecorder();
const sender = new EventSender(topics.studyAvailable);
const logLines: Record<string, unknown>[] = [];
let worker: Awaited<ReturnType<typeof startWorker>>;

/** The JSON of a TriageCompleted, as far as the assertions read it. */
interface CompletedJson {
  eventId: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  priority: string;
  notForClinicalUse: boolean;
  lungs: { region: string; lungVolumeMl?: number }[];
  segmentation: { seriesInstanceUid: string; sopInstanceUid: string };
  structuredReport: { seriesInstanceUid: string; sopInstanceUid: string };
  diagnosticReport: string;
}

const answerTo = (eventId: string) => (m: RecordedMessage) => m.json?.correlationId === eventId;
const completed = () => recorder.on(topics.triageCompleted);
const failed = () => recorder.on(topics.triageFailed);

beforeAll(async () => {
  await assertReachable('Orthanc', `${stack.orthancUrl}/system`, { Authorization: stack.orthancAuthorization });
  await assertReachable('HAPI FHIR', `${stack.fhirBaseUrl}/metadata`);
  await createTopics(topics);
  await recorder.start([topics.triageCompleted, topics.triageFailed, topics.deadLetter]);
  await sender.connect();
  const config = parseConfig(workerEnvironment(topics, { LOG_LEVEL: 'debug' }));
  const logger = new JsonLogger('debug', { service: 'e2e' }, (line) => {
    logLines.push(JSON.parse(line) as Record<string, unknown>);
  });
  worker = await startWorker(config, logger);
}, 120_000);

afterAll(async () => {
  await worker?.close();
  await sender.disconnect();
  await recorder.stop();
});

/** Waits for the TriageFailed answering an event and its dead-letter record; checks both. */
async function expectParked(eventId: string | undefined, bytes: Buffer, reason: string) {
  const answer = eventId
    ? await recorder.waitFor(`TriageFailed for ${eventId}`, answerTo(eventId))
    : await recorder.waitFor('TriageFailed without correlation', (m) => m.topic === topics.triageFailed);
  expect(answer.topic).toBe(topics.triageFailed);
  expect(answer.json?.reason).toBe(reason);
  const parked = await recorder.waitFor(
    'dead-letter record',
    (m) => m.topic === topics.deadLetter && m.headers[DEAD_LETTER_HEADERS.correlationId] === answer.json?.eventId,
  );
  expect(parked.value?.equals(bytes)).toBe(true);
  expect(parked.headers[DEAD_LETTER_HEADERS.code]).toBe(reason.replace('FAILURE_REASON_', ''));
  expect(parked.headers[DEAD_LETTER_HEADERS.reason]).not.toBe('');
  return answer;
}

describe('triage worker against Kafka, Orthanc and HAPI FHIR', () => {
  it('reports ready (Kafka, model, archive, FHIR) on its readiness endpoint', async () => {
    await expectHealthy(Number(worker.lifecycle.httpPort));
  });

  it('parks malformed JSON with TriageFailed and a dead-letter record holding the original bytes', async () => {
    const bytes = Buffer.from('{"eventId": "x", "studyInstanceUid": ');
    await sender.raw(bytes);
    const answer = await expectParked(undefined, bytes, 'FAILURE_REASON_MALFORMED_EVENT');
    expect(answer.json?.studyInstanceUid).toBeUndefined();
  });

  it('parks an unknown study (STUDY_NOT_FOUND)', async () => {
    const { eventId, bytes } = await sender.study({ studyInstanceUid: newUid() });
    await expectParked(eventId, bytes, 'FAILURE_REASON_STUDY_NOT_FOUND');
  });

  it('parks a study without a usable CT series (NO_USABLE_SERIES), naming the rejected series', async () => {
    const localizer = syntheticCtSeries({ slices: 1, attributes: { ImageType: ['ORIGINAL', 'PRIMARY', 'LOCALIZER'] } });
    await storeInstances(localizer.instances.map((i) => i.bytes));
    const { eventId, bytes } = await sender.study({ studyInstanceUid: localizer.studyInstanceUid });
    const answer = await expectParked(eventId, bytes, 'FAILURE_REASON_NO_USABLE_SERIES');
    expect(answer.json?.rejectedSeries).toEqual([
      expect.objectContaining({ seriesInstanceUid: localizer.seriesInstanceUid }),
    ]);
  });

  it('parks a study with a corrupt instance (CORRUPT_INSTANCE)', async () => {
    const series = syntheticCtSeries({ rows: 64, columns: 64, slices: 24, attributes: { ConvolutionKernel: 'LUNG' } });
    const files = series.instances.map((i) => i.bytes);
    files[5] = truncatePixelData(files[5]);
    await storeInstances(files);
    const { eventId, bytes } = await sender.study({ studyInstanceUid: series.studyInstanceUid });
    await expectParked(eventId, bytes, 'FAILURE_REASON_CORRUPT_INSTANCE');
  });

  let phantom: { studyInstanceUid: string; eventId: string; completed: CompletedJson };

  it('triages the phantom after those failures: SEG and SR in Orthanc, report on HAPI, TriageCompleted', async () => {
    const study = phantomStudy();
    await storeInstances(study.series.flatMap((s) => s.instances.map((i) => i.bytes)));
    const started = performance.now();
    const { eventId } = await sender.study({ studyInstanceUid: study.studyInstanceUid });
    const answer = await recorder.waitFor('TriageCompleted for the phantom', answerTo(eventId), 150_000);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.warn(`phantom study: TriageCompleted ${seconds} s after StudyAvailable`);
    expect(answer.topic).toBe(topics.triageCompleted);
    expect(answer.key).toBe(study.studyInstanceUid);
    const event = answer.json as unknown as CompletedJson;
    const thin = study.series.find((s) => s.instances.length === 120)!;
    expect(event).toMatchObject({
      studyInstanceUid: study.studyInstanceUid,
      seriesInstanceUid: thin.seriesInstanceUid,
    });
    expect(event.notForClinicalUse).toBe(true);
    expect(event.priority).toMatch(/^TRIAGE_PRIORITY_(ROUTINE|ELEVATED|URGENT)$/);
    expect(event.lungs).toHaveLength(3);
    expect(event.diagnosticReport).toMatch(/^DiagnosticReport\/[A-Za-z0-9.-]+$/);

    // The archive holds exactly our SEG and SR, as referenced.
    const series = await seriesOfStudy(study.studyInstanceUid);
    const seg = series.find((s) => s.modality === 'SEG')!;
    const sr = series.find((s) => s.modality === 'SR')!;
    expect(seg).toMatchObject({ seriesInstanceUid: event.segmentation.seriesInstanceUid, instances: 1 });
    expect(sr).toMatchObject({ seriesInstanceUid: event.structuredReport.seriesInstanceUid, instances: 1 });
    const [segInstance] = await fetchInstanceUids(study.studyInstanceUid, seg.seriesInstanceUid);
    expect(segInstance).toBe(event.segmentation.sopInstanceUid);

    // HAPI has the report, with its 11 Observations, naming the SEG and SR.
    const report = await fhirGet<fhir4.DiagnosticReport>(event.diagnosticReport);
    expect(report.result).toHaveLength(11);
    const identifiers = (report.identifier ?? []).map((i) => i.value);
    expect(identifiers).toContain(`urn:oid:${event.segmentation.sopInstanceUid}`);
    expect(identifiers).toContain(`urn:oid:${event.structuredReport.sopInstanceUid}`);
    const observation = await fhirGet<fhir4.Observation>(report.result![0].reference!);
    expect(observation.resourceType).toBe('Observation');

    phantom = { studyInstanceUid: study.studyInstanceUid, eventId, completed: event };
  }, 200_000);

  it('does not triage again (the same event, a new event, our own SEG/SR re-announced) but answers again', async () => {
    expect(phantom).toBeDefined();
    const { segmentation, structuredReport } = phantom.completed;
    const analyzedBefore = countLogs('step analyze done');
    await sender.study({ studyInstanceUid: phantom.studyInstanceUid, eventId: phantom.eventId });
    await sender.study({ studyInstanceUid: phantom.studyInstanceUid, source: 'orthanc' });
    await sender.study({
      studyInstanceUid: phantom.studyInstanceUid,
      source: 'orthanc',
      seriesInstanceUids: [segmentation.seriesInstanceUid, structuredReport.seriesInstanceUid],
    });
    // One partition: once this later event is answered, the three before it were handled.
    const sentinel = await sender.study({ studyInstanceUid: newUid() });
    await recorder.waitFor('the sentinel TriageFailed', answerTo(sentinel.eventId));

    expect(countLogs('step analyze done')).toBe(analyzedBefore);
    expect(
      logLines.filter((l) => l.studyInstanceUid === phantom.studyInstanceUid && l.skip).map((l) => l.skip),
    ).toEqual(['already-triaged', 'already-triaged', 'own-output']);
    const series = await seriesOfStudy(phantom.studyInstanceUid);
    expect(series.filter((s) => s.modality === 'SEG').map((s) => s.instances)).toEqual([1]);
    expect(series.filter((s) => s.modality === 'SR').map((s) => s.instances)).toEqual([1]);
    expect(await reportsReferencing(structuredReport.sopInstanceUid)).toHaveLength(1);
    // Each already-triaged event is answered again from the stored report (an answer may have been
    // lost); every answer names the same result, so a consumer keeps one.
    const answers = completed().filter((m) => m.json?.studyInstanceUid === phantom.studyInstanceUid);
    expect(answers).toHaveLength(3);
    expect(new Set(answers.map((m) => m.json?.eventId))).toEqual(new Set([phantom.completed.eventId]));
    expect(answers[2].json).toMatchObject({
      diagnosticReport: phantom.completed.diagnosticReport,
      segmentation: phantom.completed.segmentation,
      structuredReport: phantom.completed.structuredReport,
      priority: phantom.completed.priority,
    });
    expect(failed().filter((m) => m.json?.studyInstanceUid === phantom.studyInstanceUid)).toHaveLength(0);
  }, 120_000);

  it.skipIf(!hasRealCt)(
    'triages the real P001 series',
    async () => {
      const folder = join(REAL_CT_DIR, 'P001');
      const names = (await readdir(folder)).filter((name) => name.endsWith('.dcm'));
      const files = await Promise.all(names.map((name) => readFile(join(folder, name))));
      await storeInstances(files);
      const studyInstanceUid = studyUidOf(files[0]);
      // A previous run left our SEG and SR in the archive: remove them so that this run triages.
      const before = await seriesOfStudy(studyInstanceUid);
      await deleteSeriesFromOrthanc(
        before.filter((s) => s.modality === 'SEG' || s.modality === 'SR').map((s) => s.seriesInstanceUid),
      );

      const started = performance.now();
      const { eventId } = await sender.study({ studyInstanceUid });
      const answer = await recorder.waitFor('TriageCompleted for P001', answerTo(eventId), 240_000);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const timings = logLines.find((l) => l.eventId === eventId && l.msg === 'triage completed')?.timings;
      console.warn(`P001: TriageCompleted ${seconds} s after StudyAvailable; steps ${JSON.stringify(timings)}`);
      expect(answer.topic).toBe(topics.triageCompleted);
      const event = answer.json as unknown as CompletedJson;
      const series = await seriesOfStudy(studyInstanceUid);
      expect(series.find((s) => s.modality === 'SEG')?.seriesInstanceUid).toBe(event.segmentation.seriesInstanceUid);
      expect(series.find((s) => s.modality === 'SR')?.seriesInstanceUid).toBe(event.structuredReport.seriesInstanceUid);
      expect(await reportsReferencing(event.structuredReport.sopInstanceUid)).toHaveLength(1);
      expect(event.lungs.find((l) => l.region === 'both')?.lungVolumeMl).toBeGreaterThan(0);
    },
    300_000,
  );

  it('logs JSON lines with the study UID as correlation id and no patient data', () => {
    expect(logLines.length).toBeGreaterThan(10);
    const text = JSON.stringify(logLines);
    expect(text).not.toContain('PHANTOM^SYNTHETIC');
    expect(text).not.toContain('PHANTOM-0001');
    const completedLine = logLines.find((l) => l.msg === 'triage completed');
    expect(completedLine).toMatchObject({ studyInstanceUid: phantom.studyInstanceUid, level: 'info' });
  });
});

function countLogs(msg: string): number {
  return logLines.filter((l) => l.msg === msg).length;
}

async function fetchInstanceUids(studyInstanceUid: string, seriesInstanceUid: string): Promise<string[]> {
  const found = await archive.searchInstances(studyInstanceUid, seriesInstanceUid);
  return found.map((d) => (d['00080018']?.Value?.[0] as string | undefined) ?? '');
}

function studyUidOf(bytes: Uint8Array): string {
  return readPart10(bytes, { untilPixelData: true }).dataset.string('StudyInstanceUID')!;
}

/** Keeps the file parseable but leaves its PixelData 64 bytes long: it cannot be decoded. */
function truncatePixelData(bytes: Buffer): Buffer {
  const tag = Buffer.from([0xe0, 0x7f, 0x10, 0x00]);
  const at = bytes.lastIndexOf(tag);
  if (at < 0) throw new Error('no PixelData');
  const copy = Buffer.from(bytes.subarray(0, at + 12 + 64));
  copy.writeUInt32LE(64, at + 8);
  return copy;
}
