import { randomUUID } from 'node:crypto';
import { newUid } from '@app/dicom';
import type { SyntheticCtSeries } from '@app/dicom/phantom';
import { DEAD_LETTER_HEADERS } from '@app/messaging';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  axialTurned,
  dcmodify,
  dcmtk,
  deflateBomb,
  enhancedClaiming,
  enhancedWithPerFrameGroups,
  garbage,
  jpegLossless,
  nestedSequence,
  rawJson,
  rgbSeries,
  segAndSrOnly,
  series,
  seriesAndVariant,
  slicesReplaced,
  stored,
  type Announcement,
} from '../support/bad-inputs.js';
import { assertReachable, stack } from '../support/stack.js';
import { buildWorker } from '../support/worker-build.js';
import {
  createTopics,
  expectHealthy,
  EventSender,
  TopicRecorder,
  uniqueTopics,
  workerEnvironment,
  WorkerProcess,
  type RecordedMessage,
} from '../support/worker-harness.js';

/**
 * The bad-input corpus (docs/bad-input-corpus.md): each kind of broken event or study goes
 * through ONE worker process against the real stack and must end with its documented answer
 * (a TriageFailed reason, or TriageCompleted where the product tolerates the defect), with a
 * dead-letter record for every failure; a good study sent right after it must be triaged, and
 * the process must stay up and ready to the end. DICOM inputs are the good study of
 * test/support/bad-inputs.ts with one defect each.
 */
const MALFORMED = 'FAILURE_REASON_MALFORMED_EVENT';
const NOT_FOUND = 'FAILURE_REASON_STUDY_NOT_FOUND';
const NO_SERIES = 'FAILURE_REASON_NO_USABLE_SERIES';
const GEOMETRY = 'FAILURE_REASON_INVALID_GEOMETRY';
const CORRUPT = 'FAILURE_REASON_CORRUPT_INSTANCE';
const TOO_LARGE = 'FAILURE_REASON_TOO_LARGE';
const NO_LUNGS = 'FAILURE_REASON_NO_LUNGS_FOUND';
const COMPLETED = 'TRIAGE_COMPLETED';

interface Kind {
  name: string;
  expected: string;
  /** What the TriageFailed message must say: proof that this defect, and not another, decided. */
  because?: RegExp;
  prepare: () => Announcement | Promise<Announcement>;
}

const event = () => ({ eventId: randomUUID(), studyInstanceUid: newUid() });
const V2_HEADERS = { 'event-type': 'covidtriage.events.v2.StudyAvailable', 'content-type': 'application/json' };
const MR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.4';
const SECONDARY_CAPTURE_STORAGE = '1.2.840.10008.5.1.4.1.1.7';
const position = (p: number[]) => ({ PlanePositionSequence: [{ ImagePositionPatient: p }] });
const sopInstanceUidOfSlice = (k: number) => (base: SyntheticCtSeries) => ({
  attributes: { SOPInstanceUID: base.instances[k].sopInstanceUid },
});
const orientationOnly = () => ({ PlaneOrientationSequence: [{ ImageOrientationPatient: [1, 0, 0, 0, 1, 0] }] });

const KINDS: Kind[] = [
  // ---- the event
  { name: 'not JSON', expected: MALFORMED, prepare: () => ({ raw: Buffer.from('{"eventId": "x", "studyIn') }) },
  { name: 'empty message', expected: MALFORMED, because: /empty/, prepare: () => ({ raw: Buffer.alloc(0) }) },
  {
    name: 'JSON of the wrong shape',
    expected: MALFORMED,
    prepare: () => rawJson({ eventId: 42, studyInstanceUid: [newUid()] }),
  },
  {
    name: 'no eventId',
    expected: MALFORMED,
    because: /eventId/,
    prepare: () => rawJson({ studyInstanceUid: newUid() }),
  },
  {
    name: 'StudyInstanceUID is a UUID',
    expected: MALFORMED,
    because: /studyInstanceUid is missing or not a DICOM UID/,
    prepare: () => rawJson({ ...event(), studyInstanceUid: randomUUID() }),
  },
  {
    name: 'series hint is not a UID',
    expected: MALFORMED,
    because: /seriesInstanceUids/,
    prepare: () => rawJson({ ...event(), seriesInstanceUids: ['CT 2'] }),
  },
  {
    name: 'oversized event (300 KiB)',
    expected: TOO_LARGE,
    because: /the event/,
    prepare: () => rawJson({ ...event(), source: 'x'.repeat(300 * 1024) }),
  },
  {
    name: 'unknown schema version (v2 shape and event-type header)',
    expected: MALFORMED,
    prepare: () => rawJson({ version: 2, id: randomUUID(), study: { uid: newUid() } }, V2_HEADERS),
  },
  {
    // A body v1 can read is still refused when its header says it is something else.
    name: 'a v1 body under a v2 event-type header',
    expected: MALFORMED,
    because: /event-type header says "covidtriage\.events\.v2\.StudyAvailable"/,
    prepare: () => {
      const body = event();
      return { ...rawJson(body, V2_HEADERS), correlatesTo: body.eventId };
    },
  },
  {
    name: 'another archive named',
    expected: NOT_FOUND,
    because: /not configured for/,
    prepare: () => ({ study: { studyInstanceUid: newUid(), dicomwebBaseUrl: 'http://127.0.0.1:9/dicom-web' } }),
  },
  { name: 'unknown study', expected: NOT_FOUND, prepare: () => ({ study: { studyInstanceUid: newUid() } }) },

  // ---- series selection: nothing the model may see (docs/series-selection.md)
  {
    name: 'MR series',
    expected: NO_SERIES,
    because: /modality MR is not CT/,
    prepare: () => stored(series({ attributes: { Modality: 'MR', SOPClassUID: MR_IMAGE_STORAGE } })),
  },
  {
    name: 'Secondary Capture labelled CT',
    expected: NO_SERIES,
    because: /is not \(Enhanced\) CT Image Storage/,
    prepare: () => stored(series({ attributes: { SOPClassUID: SECONDARY_CAPTURE_STORAGE } })),
  },
  {
    name: 'SEG and SR only',
    expected: NO_SERIES,
    because: /^(?=.*modality SEG is not CT)(?=.*modality SR is not CT)/,
    prepare: () => stored(segAndSrOnly()),
  },
  {
    name: 'localizer only',
    expected: NO_SERIES,
    because: /contains LOCALIZER/,
    prepare: () => stored(series({ slices: 1, attributes: { ImageType: ['ORIGINAL', 'PRIMARY', 'LOCALIZER'] } })),
  },
  {
    name: '7 slices',
    expected: NO_SERIES,
    because: /7 slices, fewer than/,
    prepare: () => stored(series({ slices: 7 })),
  },
  {
    name: 'DERIVED\\SECONDARY\\MPR reformat',
    expected: NO_SERIES,
    because: /contains DERIVED/,
    prepare: () => stored(series({ attributes: { ImageType: ['DERIVED', 'SECONDARY', 'MPR'] } })),
  },
  {
    name: 'slices 8 mm thick',
    expected: NO_SERIES,
    because: /slice thickness 8 mm/,
    prepare: () => stored(series({ sliceSpacing: 8 })),
  },
  {
    name: 'sagittal series',
    expected: NO_SERIES,
    because: /not axial/,
    prepare: () => stored(series({ orientation: [0, 1, 0, 0, 0, -1] })),
  },
  {
    name: 'an SOPInstanceUID is a UUID',
    expected: NO_SERIES,
    because: /SOPInstanceUID is not a DICOM UID/,
    prepare: () => stored(slicesReplaced([3], { attributes: { SOPInstanceUID: randomUUID() } })),
  },
  {
    name: 'FrameOfReferenceUID is a UUID',
    expected: NO_SERIES,
    because: /FrameOfReferenceUID is not a DICOM UID/,
    prepare: () => stored(series({ frameOfReferenceUid: randomUUID() })),
  },
  {
    // Selection needs the orientation to judge "axial", so this never reaches the volume's checks.
    name: 'no ImageOrientationPatient',
    expected: NO_SERIES,
    because: /no ImageOrientationPatient/,
    prepare: () => stored(series({ attributes: { ImageOrientationPatient: undefined } })),
  },
  {
    name: 'mixed orientations (half the slices turned 30°)',
    expected: NO_SERIES,
    because: /different orientations/,
    prepare: () => stored(slicesReplaced([8, 9, 10, 11, 12, 13, 14, 15], { orientation: axialTurned(30) })),
  },
  {
    name: 'mixed matrix sizes',
    expected: NO_SERIES,
    because: /different matrix sizes/,
    prepare: () => stored(slicesReplaced([15], { rows: 32, columns: 32 })),
  },

  // ---- geometry: the chosen series is no regular grid
  {
    name: 'a slice without ImagePositionPatient',
    expected: GEOMETRY,
    because: /no ImagePositionPatient/,
    prepare: () => stored(slicesReplaced([5], { attributes: { ImagePositionPatient: undefined } })),
  },
  {
    name: 'no PixelSpacing',
    expected: GEOMETRY,
    because: /no valid PixelSpacing/,
    prepare: () => stored(series({ attributes: { PixelSpacing: undefined } })),
  },
  {
    name: 'gap of 2 missing slices',
    expected: GEOMETRY,
    because: /gap of .*about 2 missing slice/,
    prepare: () => stored(series({ slices: 20, omitSlices: [9, 10] })),
  },
  {
    name: 'two slices at one position',
    expected: GEOMETRY,
    because: /share the position/,
    prepare: () => {
      const { base, variant } = seriesAndVariant({});
      return stored([...base, variant[5]]);
    },
  },
  {
    // Orthanc keeps one instance per SOP Instance UID (the later), so the archive answers with a
    // slice missing: a gap. 20 slices, so that the 19 left still pass selection.
    name: 'two slices with one SOPInstanceUID',
    expected: GEOMETRY,
    because: /gap of .*about 1 missing slice/,
    prepare: () => stored(slicesReplaced([10], sopInstanceUidOfSlice(9), { slices: 20 })),
  },
  {
    name: 'gantry tilt of 15° (GantryDetectorTilt, sheared positions)',
    expected: GEOMETRY,
    because: /gantry tilt of 15°/,
    prepare: () =>
      stored(series({ shearMmPerSlice: [0, 2 * Math.tan(Math.PI / 12)], attributes: { GantryDetectorTilt: 15 } })),
  },
  {
    name: 'sheared stack without GantryDetectorTilt',
    expected: GEOMETRY,
    because: /drift .* sideways/,
    prepare: () => stored(series({ shearMmPerSlice: [0, 0.5] })),
  },
  {
    name: 'Enhanced CT whose per-frame groups lack Plane Position',
    expected: GEOMETRY,
    because: /no ImagePositionPatient/,
    prepare: () => stored([enhancedWithPerFrameGroups(orientationOnly)]),
  },
  {
    name: 'Enhanced CT with 12 per-frame groups for 16 frames',
    expected: GEOMETRY,
    because: /12 per-frame functional groups for 16 frames/,
    prepare: () => stored([enhancedWithPerFrameGroups(position, 12)]),
  },

  // ---- pixel data
  {
    // DCMTK marks what it compresses lossily DERIVED, which selection refuses before any decoding;
    // an archive holding such an original (old PACS did) keeps ORIGINAL, as put back here.
    name: '12-bit JPEG Extended (dcmcjpeg +ee)',
    expected: CORRUPT,
    because: /unsupported transfer syntax JPEG Extended/,
    prepare: () => {
      const original = ['-m', '(0008,0008)=ORIGINAL\\PRIMARY\\AXIAL'];
      return stored(dcmtk('dcmcjpeg', ['+ee'], series()).map((file) => dcmodify(file, original)));
    },
  },
  {
    name: 'truncated JPEG Lossless codestream',
    expected: CORRUPT,
    because: /JPEG Lossless/,
    prepare: () => stored(jpegLossless((c, i) => (i === 5 ? c.subarray(0, 2 * Math.floor(c.length * 0.3)) : c))),
  },
  {
    name: 'garbage in place of a JPEG Lossless codestream',
    expected: CORRUPT,
    because: /JPEG Lossless/,
    prepare: () => stored(jpegLossless((c, i) => (i === 5 ? garbage(c) : c))),
  },
  {
    name: 'native pixel data shorter than Rows × Columns',
    expected: CORRUPT,
    prepare: () => stored(slicesReplaced([5], { attributes: { PixelData: new Uint16Array(100) } })),
  },
  {
    name: 'all-zero pixels',
    expected: CORRUPT,
    because: /constant/,
    prepare: () => stored(series({ attributes: { PixelData: new Uint16Array(64 * 64) } })),
  },
  { name: 'RGB pixels', expected: CORRUPT, because: /3 samples per pixel/, prepare: () => stored(rgbSeries()) },
  {
    name: 'implausible HU (RescaleIntercept -40000)',
    expected: CORRUPT,
    because: /implausible HU/,
    prepare: () => stored(series({ attributes: { RescaleIntercept: -40000 } })),
  },

  // ---- size (docs/reliability.md, bounds on inputs)
  {
    name: 'headers claiming 30000 × 30000 pixels',
    expected: TOO_LARGE,
    because: /WORKER_MEMORY_BUDGET_MB/,
    prepare: () => stored(series({ attributes: { Rows: 30000, Columns: 30000 } })),
  },
  {
    // The memory admission reads headers only, so a 2,000-frame Enhanced CT claiming 512 × 512
    // frames (about 12 GB at 24 bytes a voxel, over the default 4096 MB budget) is the real case
    // without storing gigabytes: its pixel data is 8 × 8 frames, never fetched. Were it admitted,
    // decoding would fail with CORRUPT_INSTANCE instead.
    name: '2,000-slice study over the memory budget',
    expected: TOO_LARGE,
    because: /524288000 voxels.*WORKER_MEMORY_BUDGET_MB=4096/,
    prepare: () => stored([enhancedClaiming(2000, 512, 512)]),
  },
  {
    name: 'deflate bomb (1 MB inflating to 1.1 GiB)',
    expected: TOO_LARGE,
    because: /inflated dataset/,
    prepare: async () => {
      const [bomb, ...others] = series();
      return stored(others, [await deflateBomb(bomb, 1100)]);
    },
  },
  {
    name: 'sequences nested 40 deep',
    expected: TOO_LARGE,
    because: /nested deeper than/,
    prepare: () => {
      const [nested, ...others] = slicesReplaced([0], { attributes: { SourceImageSequence: nestedSequence(40) } });
      return stored(others, [nested]);
    },
  },

  // ---- the model
  {
    name: '48 mm field of view (no lungs in it)',
    expected: NO_LUNGS,
    prepare: () => stored(series({ pixelSpacing: [0.75, 0.75], origin: [-24, -24, -60] })),
  },

  // ---- tolerated (docs/reliability.md: padding after an end marker is ignored)
  {
    name: 'JPEG Lossless codestreams padded after the end marker',
    expected: COMPLETED,
    prepare: () => stored(jpegLossless((c) => Buffer.concat([c, Buffer.from([0x00, 0xff, 0x00, 0x20, 0xff, 0x00])]))),
  },
];

// ---------------------------------------------------------------- the run

const topics = uniqueTopics('bad-input-corpus');
const recorder = new TopicRecorder();
const sender = new EventSender(topics.studyAvailable);
let worker: WorkerProcess;
let healthPort: number;
/** Set if the worker process ever exits: it must survive every input. */
let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
const claimed = new Set<RecordedMessage>();

beforeAll(async () => {
  await assertReachable('Orthanc', `${stack.orthancUrl}/system`, { Authorization: stack.orthancAuthorization });
  await assertReachable('HAPI FHIR', `${stack.fhirBaseUrl}/metadata`);
  await createTopics(topics);
  await recorder.start([topics.triageCompleted, topics.triageFailed, topics.deadLetter]);
  await sender.connect();
  worker = new WorkerProcess(await buildWorker(), workerEnvironment(topics));
  void worker.exited.then((how) => (exit = how));
  const started = await worker.waitForLog('worker started', (line) => line.msg === 'worker started', 90_000);
  healthPort = Number(started.httpPort);
}, 120_000);

afterAll(async () => {
  worker?.kill('SIGTERM');
  await worker?.exited;
  await sender.disconnect();
  await recorder.stop();
});

/** Sends the announcement and waits for the worker's answer (one partition: events are answered in order). */
async function send(announcement: Announcement): Promise<{ answer: RecordedMessage; bytes: Buffer }> {
  let bytes: Buffer;
  let answers: (m: RecordedMessage) => boolean;
  if ('raw' in announcement) {
    bytes = announcement.raw;
    await sender.raw(bytes, null, announcement.headers);
    // Unreadable, so its TriageFailed correlates to nothing: the next such answer is its.
    const correlationId = announcement.correlatesTo;
    answers = (m) =>
      m.topic === topics.triageFailed &&
      (correlationId ? m.json?.correlationId === correlationId : !m.json?.correlationId);
  } else {
    const sent = await sender.study(announcement.study);
    bytes = sent.bytes;
    answers = (m) => m.topic !== topics.deadLetter && m.json?.correlationId === sent.eventId;
  }
  const answer = await recorder.waitFor('the answer', (m) => !claimed.has(m) && answers(m), 90_000);
  claimed.add(answer);
  return { answer, bytes };
}

/** What the worker did with an input: TriageCompleted, or the reason, message and dead-letter record of its TriageFailed. */
async function outcomeOf({ answer, bytes }: { answer: RecordedMessage; bytes: Buffer }) {
  if (answer.topic === topics.triageCompleted) return { answer: COMPLETED };
  const parked = await recorder.waitFor(
    'the dead-letter record',
    (m) => m.topic === topics.deadLetter && m.headers[DEAD_LETTER_HEADERS.correlationId] === answer.json?.eventId,
  );
  return {
    answer: answer.json?.reason,
    message: answer.json?.message,
    deadLetter: {
      code: parked.headers[DEAD_LETTER_HEADERS.code],
      holdsTheOriginalBytes: Buffer.from(parked.value ?? []).equals(bytes),
    },
  };
}

function expectedOutcome(kind: Kind) {
  if (kind.expected === COMPLETED) return { answer: COMPLETED };
  return {
    answer: kind.expected,
    message: expect.stringMatching(kind.because ?? /./),
    deadLetter: { code: kind.expected.replace('FAILURE_REASON_', ''), holdsTheOriginalBytes: true },
  };
}

describe('bad-input corpus: one worker, each kind answered as documented, a good study after each', () => {
  it('holds at least 30 kinds, each named once', () => {
    expect(KINDS.length).toBeGreaterThanOrEqual(30);
    expect(new Set(KINDS.map((k) => k.name)).size).toBe(KINDS.length);
  });

  it.each(KINDS.map((kind) => [kind.name, kind] as const))(
    '%s',
    async (_name, kind) => {
      const [bad, good] = await Promise.all([kind.prepare(), stored(series())]);
      const outcome = await outcomeOf(await send(bad));
      const followUp = await send(good);
      expect(outcome).toEqual(expectedOutcome(kind));
      expect({ goodStudyAfterIt: followUp.answer.topic, workerExited: exit }).toEqual({
        goodStudyAfterIt: topics.triageCompleted,
        workerExited: undefined,
      });
    },
    120_000,
  );

  it('leaves the worker process up and ready', async () => {
    expect({ workerExited: exit, stderr: exit ? worker.stderr.slice(-2000) : '' }).toEqual({
      workerExited: undefined,
      stderr: '',
    });
    await expectHealthy(healthPort);
    // Our logs carry UIDs and codes only: not the phantom's patient name.
    expect(JSON.stringify(worker.lines)).not.toContain('PHANTOM^SYNTHETIC');
  });
});
