import {
  DerivedObjectInputError,
  DISCLAIMER,
  JsonAttributes,
  jsonKey,
  readPart10,
  SopClass,
  tagOf,
  type DicomAttributes,
} from '@app/dicom';
import { syntheticCtSeries } from '@app/dicom/phantom';
import { PermanentError } from '@app/errors';
import type { TriageMeasurements } from '@app/triage-contracts';
import { describe, expect, it } from 'vitest';
import { LOCAL_SCHEME, SrCodes } from './codes.js';
import {
  DEFAULT_SR_SERIES_NUMBER,
  encodeMeasurementReport,
  srUids,
  type SrInput,
} from './encode-measurement-report.js';
import { deviceObserverUid, TRACKING_IDENTIFIERS } from './report-content.js';

const MODEL = { id: 'covid-ct-triage/unit', name: 'Unit test model', version: '1.2.3' };
const FIXED = new Date(2026, 0, 2, 3, 4, 5);

function baseInput(): SrInput {
  const series = syntheticCtSeries({ rows: 8, columns: 8, slices: 3 });
  const instances = series.instances.map((instance) => readPart10(instance.bytes).dataset);
  const source = instances[0];
  const measurements: TriageMeasurements = {
    model: MODEL,
    covidProbability: 0.75,
    severityPercent: 12.5,
    lungs: [
      { region: 'left', lungVolumeMl: 2000, lesionVolumeMl: 250, percentAffected: 12.5 },
      { region: 'right', lungVolumeMl: 2200.25, lesionVolumeMl: 110.0125, percentAffected: 5 },
      { region: 'both', lungVolumeMl: 4200.25, lesionVolumeMl: 360.0125, percentAffected: 8.571 },
    ],
  };
  return {
    sourceInstance: source,
    sourceSeries: {
      seriesInstanceUid: source.string('SeriesInstanceUID')!,
      instances: instances.map((i) => ({
        sopClassUid: i.string('SOPClassUID')!,
        sopInstanceUid: i.string('SOPInstanceUID')!,
      })),
    },
    segmentation: {
      sopInstanceUid: '2.25.1111',
      seriesInstanceUid: '2.25.2222',
      segmentNumbers: { leftLung: 1, rightLung: 2, lesion: 3 },
    },
    measurements,
    options: { contentDateTime: FIXED },
  };
}

type Item = DicomAttributes;
const conceptOf = (item: Item) => item.sequence('ConceptNameCodeSequence')[0]?.string('CodeValue');
const valueCodeOf = (item: Item) => item.sequence('ConceptCodeSequence')[0]?.string('CodeValue');
const children = (item: Item) => item.sequence('ContentSequence');
const childrenNamed = (item: Item, code: string) => children(item).filter((child) => conceptOf(child) === code);
const child = (item: Item, code: string) => {
  const found = childrenNamed(item, code);
  expect(found, `one child ${code}`).toHaveLength(1);
  return found[0];
};
const numOf = (item: Item) => {
  const measured = item.sequence('MeasuredValueSequence')[0];
  const unit = measured.sequence('MeasurementUnitsCodeSequence')[0];
  return {
    text: measured.string('NumericValue'),
    value: measured.number('NumericValue'),
    float: measured.number('FloatingPointValue'),
    unit: `${unit.string('CodingSchemeDesignator')}:${unit.string('CodeValue')}`,
  };
};

function write(input: SrInput = baseInput()) {
  const result = encodeMeasurementReport(input);
  return { result, dataset: readPart10(result.bytes).dataset };
}

describe('encodeMeasurementReport: document', () => {
  it('is a Comprehensive SR with TID 1500 at the root, unverified, not for clinical use', () => {
    const input = baseInput();
    const { result, dataset } = write(input);
    expect(result.sopClassUid).toBe(SopClass.ComprehensiveSR);
    expect(dataset.string('SOPClassUID')).toBe('1.2.840.10008.5.1.4.1.1.88.33');
    expect(dataset.string('SOPInstanceUID')).toBe(result.sopInstanceUid);
    expect(dataset.string('SeriesInstanceUID')).toBe(result.seriesInstanceUid);
    expect(dataset.string('StudyInstanceUID')).toBe(input.sourceInstance.string('StudyInstanceUID'));
    expect(dataset.string('Modality')).toBe('SR');
    expect(dataset.number('SeriesNumber')).toBe(DEFAULT_SR_SERIES_NUMBER);
    expect(dataset.string('SeriesDescription')).toContain('NOT FOR CLINICAL USE');
    expect(dataset.string('CompletionFlag')).toBe('COMPLETE');
    expect(dataset.string('VerificationFlag')).toBe('UNVERIFIED');
    expect(dataset.string('ValueType')).toBe('CONTAINER');
    expect(conceptOf(dataset)).toBe('126000');
    expect(dataset.sequence('ContentTemplateSequence')[0].string('TemplateIdentifier')).toBe('1500');
    expect(dataset.sequence('ContentTemplateSequence')[0].string('MappingResource')).toBe('DCMR');
    expect([dataset.string('ContentDate'), dataset.string('ContentTime')]).toEqual(['20260102', '030405']);
    const scheme = dataset.sequence('CodingSchemeIdentificationSequence');
    expect(scheme.map((s) => s.string('CodingSchemeDesignator'))).toEqual([LOCAL_SCHEME.designator]);
    const comment = child(child(dataset, 'C0034375'), '121106');
    expect(comment.string('ValueType')).toBe('TEXT');
    expect(comment.string('TextValue')).toBe(DISCLAIMER);
  });

  it('honours seriesNumber, instanceNumber and completionFlag', () => {
    const input = {
      ...baseInput(),
      options: { contentDateTime: FIXED, seriesNumber: 77, instanceNumber: 4, completionFlag: 'PARTIAL' as const },
    };
    const { dataset } = write(input);
    expect([
      dataset.number('SeriesNumber'),
      dataset.number('InstanceNumber'),
      dataset.string('CompletionFlag'),
    ]).toEqual([77, 4, 'PARTIAL']);
  });

  it('copies patient and study attributes; absent Type 2 ones are present and empty', () => {
    const input = baseInput();
    const source = new JsonAttributes({
      [jsonKey(tagOf('StudyInstanceUID'))]: { vr: 'UI', Value: ['2.25.10'] },
      [jsonKey(tagOf('SeriesInstanceUID'))]: { vr: 'UI', Value: ['2.25.11'] },
      [jsonKey(tagOf('PatientID'))]: { vr: 'LO', Value: ['P-1'] },
      [jsonKey(tagOf('AccessionNumber'))]: { vr: 'SH', Value: ['ACC'] },
    });
    const { dataset } = write({
      ...input,
      sourceInstance: source,
      sourceSeries: { ...input.sourceSeries, seriesInstanceUid: '2.25.11' },
    });
    expect(dataset.string('PatientID')).toBe('P-1');
    expect(dataset.string('AccessionNumber')).toBe('ACC');
    for (const keyword of [
      'PatientName',
      'PatientBirthDate',
      'PatientSex',
      'StudyDate',
      'StudyTime',
      'ReferringPhysicianName',
      'StudyID',
    ]) {
      const present = dataset.element(tagOf(keyword)) !== undefined;
      expect({ keyword, present, value: dataset.string(keyword) }).toEqual({
        keyword,
        present: true,
        value: undefined,
      });
    }
    expect(dataset.has('SpecificCharacterSet')).toBe(false);
  });

  it('lists every source instance and the SEG as evidence of the current procedure', () => {
    const input = baseInput();
    const { dataset } = write(input);
    const [study] = dataset.sequence('CurrentRequestedProcedureEvidenceSequence');
    const series = study.sequence('ReferencedSeriesSequence');
    expect(series.map((s) => s.string('SeriesInstanceUID'))).toEqual([
      input.sourceSeries.seriesInstanceUid,
      '2.25.2222',
    ]);
    expect(series[0].sequence('ReferencedSOPSequence').map((s) => s.string('ReferencedSOPInstanceUID'))).toEqual(
      input.sourceSeries.instances.map((i) => i.sopInstanceUid),
    );
    expect(series[1].sequence('ReferencedSOPSequence')[0].string('ReferencedSOPClassUID')).toBe(
      '1.2.840.10008.5.1.4.1.1.66.4',
    );
  });
});

describe('encodeMeasurementReport: content tree', () => {
  it('has language, a device observer, the procedure and an image library of the source series', () => {
    const input = baseInput();
    const { dataset } = write(input);
    expect(children(dataset).map((item) => [item.string('RelationshipType'), conceptOf(item)])).toEqual([
      ['HAS CONCEPT MOD', '121049'],
      ['HAS OBS CONTEXT', '121005'],
      ['HAS OBS CONTEXT', '121012'],
      ['HAS OBS CONTEXT', '121013'],
      ['HAS OBS CONTEXT', '121014'],
      ['HAS OBS CONTEXT', '121015'],
      ['HAS CONCEPT MOD', '121058'],
      ['CONTAINS', '111028'],
      ['CONTAINS', '126010'],
      ['CONTAINS', 'C0034375'],
    ]);
    expect(valueCodeOf(child(dataset, '121005'))).toBe('121007');
    expect(child(dataset, '121012').string('UID')).toBe(deviceObserverUid(MODEL));
    expect(child(dataset, '121013').string('TextValue')).toBe(MODEL.name);
    expect(child(dataset, '121015').string('TextValue')).toBe(MODEL.id);
    expect(valueCodeOf(child(dataset, '121058'))).toBe('24627-2');
    const group = child(child(dataset, '111028'), '126200');
    const images = children(group);
    expect(images.map((image) => image.string('ValueType'))).toEqual(['IMAGE', 'IMAGE', 'IMAGE']);
    expect(
      images.map((image) => image.sequence('ReferencedSOPSequence')[0].string('ReferencedSOPInstanceUID')),
    ).toEqual(input.sourceSeries.instances.map((i) => i.sopInstanceUid));
  });

  it('has one TID 1411 group per region for the lung and for its lesion, then a study-level TID 1501 group', () => {
    const input = baseInput();
    const { dataset, result } = write(input);
    const groups = children(child(dataset, '126010'));
    expect(groups.map((g) => conceptOf(g))).toEqual(Array(7).fill('125007'));
    expect(groups.map((g) => g.sequence('ContentTemplateSequence')[0].string('TemplateIdentifier'))).toEqual([
      '1411',
      '1411',
      '1411',
      '1411',
      '1411',
      '1411',
      '1501',
    ]);
    expect(groups.map((g) => child(g, '112039').string('TextValue'))).toEqual([
      TRACKING_IDENTIFIERS.lung.left,
      TRACKING_IDENTIFIERS.lung.right,
      TRACKING_IDENTIFIERS.lung.both,
      TRACKING_IDENTIFIERS.lesion.left,
      TRACKING_IDENTIFIERS.lesion.right,
      TRACKING_IDENTIFIERS.lesion.both,
      TRACKING_IDENTIFIERS.study,
    ]);
    const trackingUids = groups.map((g) => child(g, '112040').string('UID'));
    expect(new Set(trackingUids).size).toBe(7);
    expect(trackingUids.every((uid) => uid?.startsWith('2.25.'))).toBe(true);

    const laterality = (g: Item) => valueCodeOf(child(child(g, '363698007'), '272741003'));
    const segmentNumbers = (g: Item) =>
      child(g, '121191').sequence('ReferencedSOPSequence')[0].numbers('ReferencedSegmentNumber');
    const regions = ['left', 'right', 'both'] as const;
    regions.forEach((region, i) => {
      const want = input.measurements.lungs.find((l) => l.region === region)!;
      const lung = groups[i];
      const lesion = groups[3 + i];
      expect(valueCodeOf(child(lung, '121071'))).toBe(SrCodes.lung.value);
      expect(valueCodeOf(child(lesion, '121071'))).toBe(SrCodes.lesion.value);
      for (const g of [lung, lesion]) {
        expect(valueCodeOf(child(g, '363698007'))).toBe('39607008');
        expect(laterality(g)).toBe({ left: '7771000', right: '24028007', both: '51440002' }[region]);
        expect(child(g, '111001').string('TextValue')).toBe(MODEL.name);
        expect(child(g, '111003').string('TextValue')).toBe(MODEL.version);
        expect(child(g, '121191').sequence('ReferencedSOPSequence')[0].string('ReferencedSOPInstanceUID')).toBe(
          '2.25.1111',
        );
        expect(child(g, '121232').string('UID')).toBe(input.sourceSeries.seriesInstanceUid);
      }
      expect(segmentNumbers(lung)).toEqual({ left: [1], right: [2], both: [1, 2] }[region]);
      expect(segmentNumbers(lesion)).toEqual([3]);
      expect(numOf(child(lung, '118565006'))).toMatchObject({ value: want.lungVolumeMl, unit: 'UCUM:mL' });
      expect(numOf(child(lesion, '118565006'))).toMatchObject({ value: want.lesionVolumeMl, unit: 'UCUM:mL' });
      expect(numOf(child(lesion, 'LUNGPCTAFFECTED'))).toMatchObject({ value: want.percentAffected, unit: 'UCUM:%' });
    });

    const study = groups[6];
    expect(numOf(child(study, '122157'))).toMatchObject({ value: 0.75, unit: 'UCUM:1' });
    expect(child(child(study, '122157'), '121050').string('TextValue')).toBe('Probability of COVID-19');
    expect(numOf(child(study, 'SEVERITYPCT'))).toMatchObject({ value: 12.5, unit: 'UCUM:%' });
    // Tracking UIDs are per report: a different source series gives different ones.
    expect(trackingUids[0]).not.toBe(result.sopInstanceUid);
  });

  it('writes numbers as DS of at most 16 characters, with the exact double beside', () => {
    const input = baseInput();
    input.measurements.lungs[0] = {
      region: 'left',
      lungVolumeMl: 1234.5678901234567,
      lesionVolumeMl: 1e-9,
      percentAffected: 100 / 3,
    };
    input.measurements.covidProbability = 1 / 3;
    const { dataset } = write(input);
    const groups = children(child(dataset, '126010'));
    const volume = numOf(child(groups[0], '118565006'));
    expect(volume.text!.length).toBeLessThanOrEqual(16);
    expect(volume.text).toBe('1234.56789012346');
    expect(volume.float).toBe(1234.5678901234567);
    expect(numOf(child(groups[3], '118565006'))).toMatchObject({ text: '1e-9', float: 1e-9 });
    expect(numOf(child(groups[3], 'LUNGPCTAFFECTED')).text).toBe('33.3333333333333');
    const probability = numOf(child(groups[6], '122157'));
    expect(probability.text).toBe('0.33333333333333');
    expect(probability.float).toBe(1 / 3);
    const zero = baseInput();
    zero.measurements.lungs[1].lesionVolumeMl = 0;
    expect(numOf(child(children(child(write(zero).dataset, '126010'))[4], '118565006')).text).toBe('0');
  });
});

describe('encodeMeasurementReport: UIDs and determinism', () => {
  it('derives the series and instance UIDs from source series, model id and version', () => {
    const input = baseInput();
    const { result } = write(input);
    expect(srUids(input.sourceSeries.seriesInstanceUid, MODEL)).toEqual({
      seriesInstanceUid: result.seriesInstanceUid,
      sopInstanceUid: result.sopInstanceUid,
    });
    expect(result.seriesInstanceUid).not.toBe(result.sopInstanceUid);
    expect(srUids(input.sourceSeries.seriesInstanceUid, { ...MODEL, version: '1.2.4' }).sopInstanceUid).not.toBe(
      result.sopInstanceUid,
    );
    expect(srUids('2.25.99', MODEL).sopInstanceUid).not.toBe(result.sopInstanceUid);
  });

  it('writes the same bytes twice for the same input and time', () => {
    const input = baseInput();
    expect(encodeMeasurementReport(input).bytes.equals(encodeMeasurementReport(input).bytes)).toBe(true);
  });
});

describe('encodeMeasurementReport: bad input', () => {
  const cases: [string, (input: SrInput) => void, RegExp][] = [
    [
      'a missing region',
      (i) => (i.measurements.lungs = i.measurements.lungs.slice(0, 2)),
      /no measurements for lung region\(s\) both/,
    ],
    ['a region twice', (i) => i.measurements.lungs.push({ ...i.measurements.lungs[0] }), /measured twice/],
    ['a negative volume', (i) => (i.measurements.lungs[0].lungVolumeMl = -1), /left lungVolumeMl/],
    ['a NaN lesion volume', (i) => (i.measurements.lungs[1].lesionVolumeMl = Number.NaN), /right lesionVolumeMl/],
    ['a percentage over 100', (i) => (i.measurements.lungs[2].percentAffected = 100.5), /both percentAffected/],
    ['a probability over 1', (i) => (i.measurements.covidProbability = 1.01), /covidProbability/],
    ['an infinite severity', (i) => (i.measurements.severityPercent = Number.POSITIVE_INFINITY), /severityPercent/],
    ['an empty model version', (i) => (i.measurements.model = { ...MODEL, version: '' }), /model version is empty/],
    [
      'a model name over 64 characters',
      (i) => (i.measurements.model = { ...MODEL, name: 'x'.repeat(65) }),
      /model name is longer/,
    ],
    ['no source instances', (i) => (i.sourceSeries = { ...i.sourceSeries, instances: [] }), /lists no instances/],
    [
      'a source of another series',
      (i) => (i.sourceSeries = { ...i.sourceSeries, seriesInstanceUid: '2.25.5' }),
      /source instance is of series/,
    ],
    [
      'a bad SEG UID',
      (i) => (i.segmentation = { ...i.segmentation, sopInstanceUid: '1.02.3' }),
      /SEG SOPInstanceUID is not a UID/,
    ],
    [
      'a SEG in the source series',
      (i) => (i.segmentation = { ...i.segmentation, seriesInstanceUid: i.sourceSeries.seriesInstanceUid }),
      /cannot be in the source series/,
    ],
    [
      'segment number 0',
      (i) => (i.segmentation = { ...i.segmentation, segmentNumbers: { leftLung: 0, rightLung: 2, lesion: 3 } }),
      /leftLung must be an integer/,
    ],
    [
      'a shared segment number',
      (i) => (i.segmentation = { ...i.segmentation, segmentNumbers: { leftLung: 1, rightLung: 1, lesion: 3 } }),
      /three different segment numbers/,
    ],
  ];

  it.each(cases)('rejects %s', (_, spoil, message) => {
    const input = baseInput();
    spoil(input);
    expect(() => encodeMeasurementReport(input)).toThrow(DerivedObjectInputError);
    expect(() => encodeMeasurementReport(input)).toThrow(message);
  });

  it('rejects a source without a StudyInstanceUID', () => {
    const input = baseInput();
    const source = new JsonAttributes({
      [jsonKey(tagOf('SeriesInstanceUID'))]: { vr: 'UI', Value: [input.sourceSeries.seriesInstanceUid] },
    });
    expect(() => encodeMeasurementReport({ ...input, sourceInstance: source })).toThrow(
      /StudyInstanceUID is not a UID/,
    );
  });

  it('is a permanent error', () => {
    const input = baseInput();
    input.measurements.covidProbability = -0.1;
    expect(() => encodeMeasurementReport(input)).toThrow(PermanentError);
    expect(new DerivedObjectInputError('x').transient).toBe(false);
  });
});
