import { writePart10, type Dataset } from '../part10-writer.js';
import { syntheticCtSeries, type SyntheticCtOptions, type SyntheticCtSeries } from './synthetic-ct.js';
import { SopClass } from '../sop-classes.js';
import { newUid } from '../uid.js';

/**
 * The same phantom as syntheticCtSeries, as ONE multi-frame Enhanced CT instance
 * with per-frame positions. `frameOrder` lists which slice each frame holds, so
 * tests can store frames out of spatial order.
 */
export function syntheticEnhancedCt(
  options: SyntheticCtOptions & {
    frameOrder?: number[];
    /** Overrides of the multi-frame instance's own attributes (e.g. its functional groups). */
    instanceAttributes?: Dataset;
  } = {},
): {
  instance: Buffer;
  sopInstanceUid: string;
  series: SyntheticCtSeries;
} {
  const series = syntheticCtSeries(options);
  const order = options.frameOrder ?? series.instances.map((_, i) => i);
  const slices = order.map((i) => series.instances[i]);
  const pixels = new Uint16Array(slices.length * series.rows * series.columns);
  slices.forEach((slice, f) =>
    pixels.set(
      Uint16Array.from(slice.hu, (v) => v + 1024),
      f * series.rows * series.columns,
    ),
  );
  const sopInstanceUid = newUid();
  const instance = writePart10({
    SOPClassUID: SopClass.EnhancedCtImage,
    SOPInstanceUID: sopInstanceUid,
    ImageType: ['ORIGINAL', 'PRIMARY', 'VOLUME', 'NONE'],
    Modality: 'CT',
    PatientName: 'PHANTOM^SYNTHETIC',
    PatientID: options.patientId ?? 'PHANTOM-0001',
    StudyInstanceUID: series.studyInstanceUid,
    SeriesInstanceUID: series.seriesInstanceUid,
    FrameOfReferenceUID: series.frameOfReferenceUid,
    SeriesDescription: 'Synthetic enhanced CT',
    SliceThickness: options.sliceSpacing ?? 2,
    InstanceNumber: 1,
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    NumberOfFrames: slices.length,
    Rows: series.rows,
    Columns: series.columns,
    BitsAllocated: 16,
    BitsStored: 12,
    HighBit: 11,
    PixelRepresentation: 0,
    SharedFunctionalGroupsSequence: [
      {
        PixelMeasuresSequence: [
          { PixelSpacing: options.pixelSpacing ?? [0.75, 0.75], SliceThickness: options.sliceSpacing ?? 2 },
        ],
        PlaneOrientationSequence: [{ ImageOrientationPatient: options.orientation ?? [1, 0, 0, 0, 1, 0] }],
        PixelValueTransformationSequence: [{ RescaleIntercept: -1024, RescaleSlope: 1, RescaleType: 'HU' }],
        CTImageFrameTypeSequence: [{ FrameType: ['ORIGINAL', 'PRIMARY', 'VOLUME', 'NONE'] }],
      },
    ],
    PerFrameFunctionalGroupsSequence: slices.map((slice) => ({
      PlanePositionSequence: [{ ImagePositionPatient: slice.position }],
    })),
    PixelData: pixels,
    ...options.instanceAttributes,
  });
  return { instance, sopInstanceUid, series };
}
