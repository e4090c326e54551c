import {
  DerivedObjectInputError,
  JsonAttributes,
  NOT_FOR_CLINICAL_USE,
  planVolume,
  readPart10,
  SopClass,
  type Part10Dataset,
  type VolumePlan,
} from '@app/dicom';
import { syntheticCtSeries, syntheticEnhancedCt, type SyntheticCtOptions } from '@app/dicom/phantom';
import { describe, expect, it } from 'vitest';
import { COVID_LESION, LEFT_LUNG, RIGHT_LUNG } from './codes.js';
import { unpackBits } from './pixels.js';
import { segUids, encodeSegmentation, type SegInput, type SegOptions } from './encode-segmentation.js';

const ALGORITHM = { id: 'covid-ct-triage/test', name: 'Test lung model', version: '1.2.3' };
const FIXED_TIME = new Date(2026, 0, 2, 3, 4, 5);

/** Feet-first, oblique, non-square: every way a frame could land in the wrong place. */
const AWKWARD: SyntheticCtOptions = {
  rows: 6,
  columns: 5,
  slices: 4,
  sliceDirection: 1,
  orientation: [0.8660254, 0.5, 0, -0.5, 0.8660254, 0],
  pixelSpacing: [0.7, 0.9],
  sliceSpacing: 2.5,
};

function synthetic(options: SyntheticCtOptions = AWKWARD) {
  const series = syntheticCtSeries(options);
  const instances = series.instances.map((instance) => readPart10(instance.bytes).dataset);
  // Files arrive in any order: planVolume sorts them by position.
  return { series, instances: instances.toReversed(), plan: planVolume(instances.toReversed()) };
}

/** A mask from a predicate on voxel indices, in the CtVolume layout. */
function mask(plan: VolumePlan, inside: (i: number, j: number, k: number) => boolean): Uint8Array {
  const { columns, rows, slices } = plan.geometry;
  const out = new Uint8Array(columns * rows * slices);
  for (let k = 0; k < slices; k++)
    for (let j = 0; j < rows; j++)
      for (let i = 0; i < columns; i++) out[(k * rows + j) * columns + i] = +inside(i, j, k);
  return out;
}

function threeSegments(plan: VolumePlan) {
  const left = mask(plan, (i, j, k) => i < 2 && j > 0 && k > 0);
  const right = mask(plan, (i, j, k) => i > 2 && j < 5 && k < 3);
  const lesion = mask(plan, (i, j, k) => i === 1 && j === 2 && k === 2);
  return [
    { ...LEFT_LUNG, mask: left },
    { ...RIGHT_LUNG, mask: right },
    { ...COVID_LESION, mask: lesion },
  ];
}

function input(options: SegOptions = {}, fixture = synthetic()): SegInput {
  return {
    volume: fixture.plan,
    sourceInstance: fixture.instances[0],
    algorithm: ALGORITHM,
    segments: threeSegments(fixture.plan),
    options: { contentDateTime: FIXED_TIME, ...options },
  };
}

const read = (bytes: Buffer) => readPart10(bytes).dataset;
const byText = (a: string | undefined, b: string | undefined) => (a ?? '').localeCompare(b ?? '');
const frameItems = (seg: Part10Dataset) => seg.sequence('PerFrameFunctionalGroupsSequence');
const first = (item: Part10Dataset, ...path: string[]) =>
  path.reduce<Part10Dataset>((node, keyword) => node.sequence(keyword)[0], item);

describe('encodeSegmentation: BINARY', () => {
  const fixture = synthetic();
  const segInput = input({}, fixture);
  const result = encodeSegmentation(segInput);
  const seg = read(result.bytes);
  const { columns, rows, slices } = fixture.plan.geometry;
  const framePixels = rows * columns;

  it('describes a 1-bit Segmentation with one frame per segment and slice', () => {
    expect(result.sopClassUid).toBe(SopClass.Segmentation);
    expect(result.frameCount).toBe(3 * slices);
    expect(result.segments).toEqual([
      { number: 1, label: 'Left lung' },
      { number: 2, label: 'Right lung' },
      { number: 3, label: 'COVID-19 lesion' },
    ]);
    expect(seg.string('SOPClassUID')).toBe(SopClass.Segmentation);
    expect(seg.string('Modality')).toBe('SEG');
    expect(seg.string('SegmentationType')).toBe('BINARY');
    expect(seg.strings('ImageType')).toEqual(['DERIVED', 'PRIMARY']);
    expect(seg.number('NumberOfFrames')).toBe(3 * slices);
    expect([seg.number('Rows'), seg.number('Columns')]).toEqual([6, 5]);
    expect([seg.number('BitsAllocated'), seg.number('BitsStored'), seg.number('HighBit')]).toEqual([1, 1, 0]);
    expect(seg.string('SegmentsOverlap')).toBe('YES'); // the lesion lies in the left lung
    // 3 × 4 frames × 30 pixels = 360 bits = 45 bytes, padded to 46.
    expect(seg.bytes('PixelData')?.length).toBe(46);
  });

  it('orders frames segment by segment, slices along the normal, each frame tied to its slice', () => {
    const items = frameItems(seg);
    items.forEach((item, f) => {
      const segment = Math.floor(f / slices) + 1;
      const k = f % slices;
      const slice = fixture.plan.slices[k];
      expect(first(item, 'SegmentIdentificationSequence').number('ReferencedSegmentNumber')).toBe(segment);
      expect(first(item, 'FrameContentSequence').numbers('DimensionIndexValues')).toEqual([segment, k + 1]);
      const position = first(item, 'PlanePositionSequence').numbers('ImagePositionPatient');
      position.forEach((value, axis) => expect(value).toBeCloseTo(slice.position[axis], 6));
      const source = first(item, 'DerivationImageSequence', 'SourceImageSequence');
      expect(source.string('ReferencedSOPInstanceUID')).toBe(slice.source.sopInstanceUid);
      expect(source.string('ReferencedSOPClassUID')).toBe(slice.source.sopClassUid);
      expect(source.has('ReferencedFrameNumber')).toBe(false);
      expect(source.string('SpatialLocationsPreserved')).toBe('YES');
      expect(first(source, 'PurposeOfReferenceCodeSequence').string('CodeValue')).toBe('121322');
      expect(first(item, 'DerivationImageSequence', 'DerivationCodeSequence').string('CodeValue')).toBe('113076');
    });
    // Feet-first: the slices were planned bottom-up, so frame positions rise along the normal.
    expect(fixture.plan.slices.map((s) => s.position[2])).toEqual(
      fixture.series.instances.map((i) => i.position[2]).toSorted((a, b) => a - b),
    );
  });

  it('packs each frame as the mask slice it references', () => {
    const packed = seg.bytes('PixelData')!;
    frameItems(seg).forEach((_, f) => {
      const segment = Math.floor(f / slices);
      const k = f % slices;
      const expected = segInput.segments[segment].mask.subarray(k * framePixels, (k + 1) * framePixels);
      expect(unpackBits(packed, framePixels, f * framePixels)).toEqual(expected);
    });
  });

  it('shares pixel measures and orientation; indexes two dimensions', () => {
    const shared = seg.sequence('SharedFunctionalGroupsSequence')[0];
    const measures = first(shared, 'PixelMeasuresSequence');
    expect(measures.numbers('PixelSpacing')).toEqual([0.7, 0.9]);
    expect(measures.number('SpacingBetweenSlices')).toBeCloseTo(2.5, 6);
    expect(first(shared, 'PlaneOrientationSequence').numbers('ImageOrientationPatient')).toEqual(AWKWARD.orientation);
    const dimensions = seg.sequence('DimensionIndexSequence');
    expect(dimensions.map((d) => d.string('DimensionDescriptionLabel'))).toEqual([
      'Referenced Segment Number',
      'Image Position Patient',
    ]);
    const organization = seg.sequence('DimensionOrganizationSequence')[0].string('DimensionOrganizationUID');
    expect(dimensions.every((d) => d.string('DimensionOrganizationUID') === organization)).toBe(true);
    expect(seg.has('DimensionOrganizationType')).toBe(false);
    expect(seg.string('FrameOfReferenceUID')).toBe(fixture.series.frameOfReferenceUid);
  });

  it('references every source instance of the series once', () => {
    const series = seg.sequence('ReferencedSeriesSequence');
    expect(series).toHaveLength(1);
    expect(series[0].string('SeriesInstanceUID')).toBe(fixture.series.seriesInstanceUid);
    const referenced = series[0]
      .sequence('ReferencedInstanceSequence')
      .map((i) => i.string('ReferencedSOPInstanceUID'));
    expect(referenced.toSorted(byText)).toEqual(fixture.series.instances.map((i) => i.sopInstanceUid).toSorted(byText));
  });

  it('codes the segments (SNOMED CT category, type, laterality) and the AI algorithm', () => {
    const segments = seg.sequence('SegmentSequence');
    const codes = segments.map((s) => ({
      number: s.number('SegmentNumber'),
      category: first(s, 'SegmentedPropertyCategoryCodeSequence').string('CodeValue'),
      type: first(s, 'SegmentedPropertyTypeCodeSequence').string('CodeValue'),
      modifier: first(s, 'SegmentedPropertyTypeCodeSequence', 'SegmentedPropertyTypeModifierCodeSequence')?.string(
        'CodeMeaning',
      ),
      algorithmType: s.string('SegmentAlgorithmType'),
      algorithmName: s.string('SegmentAlgorithmName'),
      family: first(s, 'SegmentationAlgorithmIdentificationSequence', 'AlgorithmFamilyCodeSequence').string(
        'CodeMeaning',
      ),
      version: first(s, 'SegmentationAlgorithmIdentificationSequence').string('AlgorithmVersion'),
    }));
    const common = { algorithmType: 'AUTOMATIC', algorithmName: 'Test lung model', family: 'Artificial Intelligence' };
    expect(codes).toEqual([
      { number: 1, category: '91723000', type: '39607008', modifier: 'Left', version: '1.2.3', ...common },
      { number: 2, category: '91723000', type: '39607008', modifier: 'Right', version: '1.2.3', ...common },
      { number: 3, category: '49755003', type: '52988006', modifier: undefined, version: '1.2.3', ...common },
    ]);
  });

  it('says it is not for clinical use, and names the equipment', () => {
    expect(seg.string('SeriesDescription')).toContain(NOT_FOR_CLINICAL_USE);
    expect(seg.string('ContentDescription')).toBe(`Test lung model 1.2.3 - ${NOT_FOR_CLINICAL_USE}`);
    expect(seg.string('ContentLabel')).toBe('NOT_FOR_CLINICAL');
    expect(seg.string('Manufacturer')).toBe('covid-ct-triage');
    expect(seg.has('ManufacturerModelName') && seg.has('DeviceSerialNumber')).toBe(true);
    expect(seg.strings('SoftwareVersions')).toEqual(['covid-ct-triage/test 1.2.3']);
    expect([seg.string('ContentDate'), seg.string('ContentTime')]).toEqual(['20260102', '030405']);
    expect([seg.number('SeriesNumber'), seg.number('InstanceNumber')]).toEqual([9001, 1]);
  });

  it('copies the patient and study from the source instance', () => {
    for (const keyword of ['PatientName', 'PatientID', 'PatientSex', 'StudyInstanceUID', 'StudyDate', 'StudyID']) {
      expect(seg.string(keyword)).toBe(fixture.instances[0].string(keyword));
    }
  });
});

describe('encodeSegmentation: ReferencedFrameNumber for a multi-frame source', () => {
  it('references the source frame of each slice, frames stored out of spatial order', () => {
    const enhanced = syntheticEnhancedCt({ ...AWKWARD, frameOrder: [2, 0, 3, 1] });
    const source = readPart10(enhanced.instance).dataset;
    const plan = planVolume([source]);
    const result = encodeSegmentation({
      volume: plan,
      sourceInstance: source,
      algorithm: ALGORITHM,
      segments: [{ ...LEFT_LUNG, mask: mask(plan, (i) => i === 0) }],
    });
    const items = frameItems(read(result.bytes));
    expect(
      items.map((item) =>
        first(item, 'DerivationImageSequence', 'SourceImageSequence').number('ReferencedFrameNumber'),
      ),
    ).toEqual(plan.slices.map((s) => s.source.frameNumber));
    // Slice k (sorted by position) is synthetic slice k, stored as frame frameOrder.indexOf(k) + 1.
    expect(plan.slices.map((s) => s.source.frameNumber)).toEqual([2, 4, 1, 3]);
    const referenced = read(result.bytes)
      .sequence('ReferencedSeriesSequence')[0]
      .sequence('ReferencedInstanceSequence');
    expect(referenced.map((i) => i.string('ReferencedSOPInstanceUID'))).toEqual([enhanced.sopInstanceUid]);
  });
});

describe('encodeSegmentation: LABELMAP', () => {
  const fixture = synthetic();
  const segInput = input({ segmentationType: 'LABELMAP' }, fixture);
  const result = encodeSegmentation(segInput);
  const seg = read(result.bytes);
  const { columns, rows, slices } = fixture.plan.geometry;

  it('is an 8-bit Label Map Segmentation with one frame per slice', () => {
    expect(result.sopClassUid).toBe(SopClass.LabelMapSegmentation);
    expect(seg.string('SOPClassUID')).toBe('1.2.840.10008.5.1.4.1.1.66.7');
    expect(seg.string('SegmentationType')).toBe('LABELMAP');
    expect(seg.string('PhotometricInterpretation')).toBe('MONOCHROME2');
    expect([seg.number('BitsAllocated'), seg.number('BitsStored'), seg.number('HighBit')]).toEqual([8, 8, 7]);
    expect(result.frameCount).toBe(slices);
    expect(seg.string('DimensionOrganizationType')).toBe('3D');
    expect(seg.sequence('DimensionIndexSequence').map((d) => d.string('DimensionDescriptionLabel'))).toEqual([
      'Image Position Patient',
    ]);
    expect(seg.sequence('SegmentSequence').map((s) => s.number('SegmentNumber'))).toEqual([1, 2, 3]);
  });

  it('labels each voxel with its segment number, the lesion winning over the lung', () => {
    const pixels = seg.bytes('PixelData')!;
    const [left, right, lesion] = segInput.segments.map((s) => s.mask);
    const expected = left.map((_, p) => (lesion[p] ? 3 : right[p] ? 2 : left[p] ? 1 : 0));
    expect(Uint8Array.from(pixels.subarray(0, columns * rows * slices))).toEqual(expected);
    expect(expected.includes(3) && lesion.some((v, p) => v && left[p])).toBe(true);
    frameItems(seg).forEach((item, k) => {
      expect(item.sequence('SegmentIdentificationSequence')).toHaveLength(0);
      expect(first(item, 'FrameContentSequence').numbers('DimensionIndexValues')).toEqual([k + 1]);
      expect(first(item, 'DerivationImageSequence', 'SourceImageSequence').string('ReferencedSOPInstanceUID')).toBe(
        fixture.plan.slices[k].source.sopInstanceUid,
      );
    });
  });
});

describe('encodeSegmentation: options', () => {
  it('keeps empty frames by default and omits them on request', () => {
    const fixture = synthetic();
    const kept = encodeSegmentation(input({}, fixture));
    expect(kept.frameCount).toBe(12);
    const omitted = encodeSegmentation(input({ omitEmptyFrames: true }, fixture));
    // left: slices 1-3, right: slices 0-2, lesion: slice 2.
    const items = frameItems(read(omitted.bytes));
    expect(omitted.frameCount).toBe(7);
    expect(items.map((item) => first(item, 'FrameContentSequence').numbers('DimensionIndexValues'))).toEqual([
      [1, 2],
      [1, 3],
      [1, 4],
      [2, 1],
      [2, 2],
      [2, 3],
      [3, 3],
    ]);
    const labelmap = encodeSegmentation(input({ omitEmptyFrames: true, segmentationType: 'LABELMAP' }, fixture));
    expect(labelmap.frameCount).toBe(4); // every slice has a label
  });

  it('omits slices without any segment from a LABELMAP, renumbering the position index', () => {
    const fixture = synthetic();
    const only = mask(fixture.plan, (i, j, k) => k === 1 || (k === 3 && i === 0 && j === 0));
    const result = encodeSegmentation({
      ...input({ omitEmptyFrames: true, segmentationType: 'LABELMAP' }, fixture),
      segments: [{ ...COVID_LESION, mask: only }],
    });
    const seg = read(result.bytes);
    expect(result.frameCount).toBe(2);
    expect(frameItems(seg).map((item) => first(item, 'FrameContentSequence').numbers('DimensionIndexValues'))).toEqual([
      [1],
      [2],
    ]);
    expect(seg.has('DimensionOrganizationType')).toBe(false); // not contiguous
  });

  it('keeps every frame when all are empty, even when asked to omit them', () => {
    const fixture = synthetic();
    const empty = new Uint8Array(5 * 6 * 4);
    const result = encodeSegmentation({
      ...input({ omitEmptyFrames: true }, fixture),
      segments: [{ ...LEFT_LUNG, mask: empty }],
    });
    expect(result.frameCount).toBe(4);
    expect(read(result.bytes).string('SegmentsOverlap')).toBe('NO');
  });

  it.each([
    ['byte-aligned frames (8x4)', 4, 8],
    ['unaligned frames (5x3)', 3, 5],
  ])('says whether segments overlap, %s', (_, rows, columns) => {
    const fixture = synthetic({ ...AWKWARD, rows, columns });
    const voxels = rows * columns * 4;
    const a = new Uint8Array(voxels);
    const b = new Uint8Array(voxels);
    a[voxels - 1] = 1; // last pixel of the last slice
    b[voxels - 2] = 1;
    const overlap = (second: Uint8Array) =>
      read(
        encodeSegmentation({
          ...input({}, fixture),
          segments: [
            { ...LEFT_LUNG, mask: a },
            { ...COVID_LESION, mask: second },
          ],
        }).bytes,
      ).string('SegmentsOverlap');
    expect(overlap(b)).toBe('NO');
    b[voxels - 1] = 1;
    expect(overlap(b)).toBe('YES');
  });

  it('takes series number, instance number and equipment', () => {
    const seg = read(
      encodeSegmentation(
        input({
          seriesNumber: 77,
          instanceNumber: 3,
          equipment: { manufacturer: 'Hospital AI Lab', deviceSerialNumber: 'SN-9', softwareVersions: ['a', 'b'] },
        }),
      ).bytes,
    );
    expect([seg.number('SeriesNumber'), seg.number('InstanceNumber')]).toEqual([77, 3]);
    expect([seg.string('Manufacturer'), seg.string('DeviceSerialNumber')]).toEqual(['Hospital AI Lab', 'SN-9']);
    expect(seg.strings('SoftwareVersions')).toEqual(['a', 'b']);
  });
});

describe('encodeSegmentation: deterministic UIDs', () => {
  const fixture = synthetic();

  it('writes the same UIDs, and with a fixed time the same bytes, when run twice', () => {
    const a = encodeSegmentation(input({}, fixture));
    const b = encodeSegmentation(input({}, fixture));
    expect(b.sopInstanceUid).toBe(a.sopInstanceUid);
    expect(b.seriesInstanceUid).toBe(a.seriesInstanceUid);
    expect(b.bytes.equals(a.bytes)).toBe(true);
    expect(segUids(fixture.series.seriesInstanceUid, ALGORITHM)).toEqual({
      seriesInstanceUid: a.seriesInstanceUid,
      sopInstanceUid: a.sopInstanceUid,
    });
    expect(a.sopInstanceUid).toMatch(/^2\.25\.\d+$/);
    expect(a.sopInstanceUid).not.toBe(a.seriesInstanceUid);
    const seg = read(a.bytes);
    expect(seg.string('SOPInstanceUID')).toBe(a.sopInstanceUid);
    expect(seg.string('SeriesInstanceUID')).toBe(a.seriesInstanceUid);
  });

  it('changes with the model version and the source series, not with the options', () => {
    const base = encodeSegmentation(input({}, fixture));
    const newer = encodeSegmentation({ ...input({}, fixture), algorithm: { ...ALGORITHM, version: '1.2.4' } });
    expect(newer.sopInstanceUid).not.toBe(base.sopInstanceUid);
    expect(newer.seriesInstanceUid).not.toBe(base.seriesInstanceUid);
    const other = encodeSegmentation(input({}, synthetic()));
    expect(other.seriesInstanceUid).not.toBe(base.seriesInstanceUid);
    const omitting = encodeSegmentation(input({ omitEmptyFrames: true, contentDateTime: new Date() }, fixture));
    expect(omitting.sopInstanceUid).toBe(base.sopInstanceUid);
  });

  it('puts BINARY and LABELMAP in the same series as different instances', () => {
    const binary = encodeSegmentation(input({}, fixture));
    const labelmap = encodeSegmentation(input({ segmentationType: 'LABELMAP' }, fixture));
    expect(labelmap.seriesInstanceUid).toBe(binary.seriesInstanceUid);
    expect(labelmap.sopInstanceUid).not.toBe(binary.sopInstanceUid);
  });
});

describe('encodeSegmentation: patient and study from a source that lacks them', () => {
  const fixture = synthetic();
  const sop = fixture.plan.slices[0].source.sopInstanceUid;
  const json = (extra: Record<string, unknown> = {}) =>
    new JsonAttributes({
      '00080018': { vr: 'UI', Value: [sop] },
      '0020000D': { vr: 'UI', Value: [fixture.series.studyInstanceUid] },
      '0020000E': { vr: 'UI', Value: [fixture.series.seriesInstanceUid] },
      '00100020': { vr: 'LO', Value: ['98C14734-ASSH'] },
      ...extra,
    });

  it('writes the Type 2 patient and study attributes empty', () => {
    const seg = read(encodeSegmentation({ ...input({}, fixture), sourceInstance: json() }).bytes);
    for (const keyword of [
      'PatientName',
      'PatientBirthDate',
      'PatientSex',
      'ReferringPhysicianName',
      'AccessionNumber',
      'StudyID',
      'StudyDate',
      'StudyTime',
    ]) {
      expect({ keyword, length: seg.bytes(keyword)?.length }).toEqual({ keyword, length: 0 }); // present, empty
    }
    expect(seg.string('PatientID')).toBe('98C14734-ASSH');
    expect(seg.has('SpecificCharacterSet')).toBe(false);
  });

  it('writes Latin-1 names as ISO_IR 100 and other names as UTF-8 (ISO_IR 192)', () => {
    const latin = read(
      encodeSegmentation({
        ...input({}, fixture),
        sourceInstance: json({ '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Müller^Jörg' }] } }),
      }).bytes,
    );
    expect(latin.strings('SpecificCharacterSet')).toEqual(['ISO_IR 100']);
    expect(Buffer.from(latin.bytes('PatientName')!).toString('latin1').trimEnd()).toBe('Müller^Jörg');
    const unicode = read(
      encodeSegmentation({
        ...input({}, fixture),
        sourceInstance: json({ '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Yamada^Tarō=山田^太郎' }] } }),
      }).bytes,
    );
    expect(unicode.strings('SpecificCharacterSet')).toEqual(['ISO_IR 192']);
    expect(Buffer.from(unicode.bytes('PatientName')!).toString('utf8').trimEnd()).toBe('Yamada^Tarō=山田^太郎');
  });
});

function expectInputError(run: () => unknown, message: RegExp) {
  let error: unknown;
  try {
    run();
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(DerivedObjectInputError);
  expect((error as Error).message).toMatch(message);
  expect(error).toMatchObject({ transient: false });
}

describe('encodeSegmentation: refuses bad input', () => {
  const fixture = synthetic();

  it('a mask of the wrong size', () => {
    const segments = threeSegments(fixture.plan);
    segments[1] = { ...segments[1], mask: new Uint8Array(5 * 6 * 3) };
    expectInputError(
      () => encodeSegmentation({ ...input({}, fixture), segments }),
      /segment 2 \(Right lung\) mask has 90 voxels, the volume 5x6x4 = 120/,
    );
  });

  it('no segments, too many LABELMAP segments, an unknown type', () => {
    expectInputError(() => encodeSegmentation({ ...input({}, fixture), segments: [] }), /at least one segment/);
    const many = Array.from({ length: 256 }, () => ({ ...LEFT_LUNG, mask: new Uint8Array(120) }));
    expectInputError(
      () => encodeSegmentation({ ...input({ segmentationType: 'LABELMAP' }, fixture), segments: many }),
      /at most 255 segments/,
    );
    expectInputError(
      () => encodeSegmentation(input({ segmentationType: 'FRACTIONAL' as 'BINARY' }, fixture)),
      /unknown segmentation type FRACTIONAL/,
    );
  });

  it('a source instance from another series, or one without UIDs', () => {
    const stranger = synthetic().instances[0];
    expectInputError(
      () => encodeSegmentation({ ...input({}, fixture), sourceInstance: stranger }),
      /is not a slice of the volume/,
    );
    expectInputError(
      () => encodeSegmentation({ ...input({}, fixture), sourceInstance: new JsonAttributes({}) }),
      /no StudyInstanceUID or SeriesInstanceUID/,
    );
  });

  it('labels too long for LO', () => {
    const segments = threeSegments(fixture.plan);
    segments[0] = { ...segments[0], label: 'x'.repeat(65) };
    expectInputError(() => encodeSegmentation({ ...input({}, fixture), segments }), /SegmentLabel is longer than 64/);
  });
});
