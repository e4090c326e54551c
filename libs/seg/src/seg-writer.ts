import {
  derivedObjectHeader,
  deterministicUid,
  dicomDate,
  dicomTime,
  tagOf,
  writePart10,
  type Dataset,
  type DicomAttributes,
  type PlannedSlice,
  type VolumeGeometry,
} from '@app/dicom';
import { PermanentError } from '@app/errors';
import { codeItem, Codes, type SegmentDescriptor } from './codes.js';
import { BitPacker, labelFrames, masksOverlap, nonEmptyFrames, packedFramesOverlap } from './pixels.js';

/**
 * DICOM Segmentation writer (PS3.3 A.51 Segmentation IOD, A.51.x Label Map
 * Segmentation IOD): masks in the CtVolume layout in, one Part 10 multi-frame
 * object out, every frame tied to its source slice by position and by reference.
 * See docs/seg.md.
 */

export const SegSopClass = {
  Segmentation: '1.2.840.10008.5.1.4.1.1.66.4',
  LabelMapSegmentation: '1.2.840.10008.5.1.4.1.1.66.7',
} as const;

export type SegmentationType = 'BINARY' | 'LABELMAP';

/** The input is unusable (mask size, missing UIDs, …): a programming or pipeline error. Permanent. */
export class SegInputError extends PermanentError {
  constructor(message: string) {
    super('INTERNAL', message);
  }
}

/** The geometry and per-slice sources of the CT the masks were computed on (a CtVolume fits). */
export interface SegSourceVolume {
  geometry: VolumeGeometry;
  /** In volume order: slice k is voxel plane k of every mask. */
  slices: readonly PlannedSlice[];
}

/** The model that produced the masks: goes into the Segmentation Algorithm Identification and the UIDs. */
export interface SegAlgorithm {
  /** Stable identifier, e.g. "covid-ct-triage/lung-lesion". */
  id: string;
  /** SegmentAlgorithmName and AlgorithmName (LO, ≤ 64 characters). */
  name: string;
  /** AlgorithmVersion (LO, ≤ 64 characters). */
  version: string;
}

export interface SegSegment extends SegmentDescriptor {
  /** 0/1 per voxel, voxel (i, j, k) at k·rows·columns + j·columns + i (the CtVolume layout). */
  mask: Uint8Array;
}

/** Enhanced General Equipment (PS3.3 C.7.5.2): who made this object. */
export interface SegEquipment {
  manufacturer: string;
  manufacturerModelName: string;
  deviceSerialNumber: string;
  softwareVersions: string | string[];
}

export interface SegOptions {
  /** BINARY (default: 1 bit per pixel, one frame per segment and slice) or LABELMAP (8-bit labels, one frame per slice). */
  segmentationType?: SegmentationType;
  /**
   * Leave out frames without a set pixel (default false: every frame is written, so
   * viewers that place frames by index still get them right). When every frame is
   * empty, all are kept anyway: a SEG needs at least one frame.
   */
  omitEmptyFrames?: boolean;
  /** SeriesNumber, default 9001. */
  seriesNumber?: number;
  /** InstanceNumber, default 1. */
  instanceNumber?: number;
  /** ContentDate/Time (and series and instance creation), default now; fix it for byte-identical output. */
  contentDateTime?: Date;
  equipment?: Partial<SegEquipment>;
}

export interface SegInput {
  volume: SegSourceVolume;
  /** One instance of the source series: the patient, study and series UID are copied from it. */
  sourceInstance: DicomAttributes;
  algorithm: SegAlgorithm;
  /** Numbered 1, 2, … in this order; in a LABELMAP the later segment wins where masks overlap. */
  segments: readonly SegSegment[];
  options?: SegOptions;
}

export interface SegResult {
  /** The Part 10 file, Explicit VR Little Endian. */
  bytes: Buffer;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sopClassUid: string;
  frameCount: number;
  segments: { number: number; label: string }[];
}

export const NOT_FOR_CLINICAL_USE = 'NOT FOR CLINICAL USE';
export const DEFAULT_SEG_SERIES_NUMBER = 9001;

/**
 * The SEG's UIDs depend only on what it is derived from and by which model, so that
 * processing a study twice writes the same objects (an archive then sees a duplicate,
 * not a second SEG). The SOP Instance UID also depends on the segmentation type: a
 * BINARY and a LABELMAP SEG are different objects of different SOP classes.
 */
export function segUids(
  sourceSeriesInstanceUid: string,
  algorithm: Pick<SegAlgorithm, 'id' | 'version'>,
  segmentationType: SegmentationType = 'BINARY',
): { seriesInstanceUid: string; sopInstanceUid: string } {
  const base = [sourceSeriesInstanceUid, algorithm.id, algorithm.version, 'SEG'];
  return {
    seriesInstanceUid: deterministicUid(...base, 'series'),
    sopInstanceUid: deterministicUid(...base, 'instance', segmentationType),
  };
}

function checkLength(what: string, text: string, max: number): string {
  if (text.length > max) throw new SegInputError(`${what} is longer than ${max} characters: ${text}`);
  return text;
}

/**
 * PixelData (7FE0,0010), OB, in Explicit VR Little Endian: tag, VR, two reserved
 * bytes, 32-bit length (PS3.5 7.1.2). It is the dataset's last element, so it is
 * appended after everything our Part 10 writer wrote.
 */
const PIXEL_DATA_HEADER_BYTES = 12;
function writePixelDataHeader(target: Buffer, offset: number, length: number): void {
  const tag = tagOf('PixelData');
  target.writeUInt16LE(tag >>> 16, offset);
  target.writeUInt16LE(tag & 0xffff, offset + 2);
  target.write('OB', offset + 4, 'latin1');
  target.writeUInt16LE(0, offset + 6);
  target.writeUInt32LE(length, offset + 8);
}

interface FramePlan {
  /** 1-based segment number the frame shows (LABELMAP: 0, all segments). */
  segment: number;
  /** Slice index k in the volume. */
  k: number;
}

export function writeSegmentation(input: SegInput): SegResult {
  const { volume, sourceInstance: source, algorithm, segments } = input;
  const options = input.options ?? {};
  const type: SegmentationType = options.segmentationType ?? 'BINARY';
  if (type !== 'BINARY' && type !== 'LABELMAP') throw new SegInputError(`unknown segmentation type ${String(type)}`);
  const { geometry } = volume;
  const { columns, rows } = geometry;
  const framePixels = rows * columns;
  const sliceCount = volume.slices.length;
  const voxels = framePixels * sliceCount;

  // ---- Check the input ----
  if (segments.length === 0) throw new SegInputError('a SEG needs at least one segment');
  if (type === 'LABELMAP' && segments.length > 255) {
    throw new SegInputError(`an 8-bit LABELMAP holds at most 255 segments, not ${segments.length}`);
  }
  if (sliceCount === 0 || sliceCount !== geometry.slices) {
    throw new SegInputError(`the volume lists ${sliceCount} slices but its geometry ${geometry.slices}`);
  }
  segments.forEach((segment, s) => {
    if (!(segment.mask instanceof Uint8Array)) throw new SegInputError(`segment ${s + 1} mask is not a Uint8Array`);
    if (segment.mask.length !== voxels) {
      throw new SegInputError(
        `segment ${s + 1} (${segment.label}) mask has ${segment.mask.length} voxels, the volume ${columns}x${rows}x${sliceCount} = ${voxels}`,
      );
    }
  });
  const studyInstanceUid = source.string('StudyInstanceUID');
  const sourceSeriesUid = source.string('SeriesInstanceUID');
  if (!studyInstanceUid || !sourceSeriesUid) {
    throw new SegInputError('the source instance has no StudyInstanceUID or SeriesInstanceUID');
  }
  const sourceSop = source.string('SOPInstanceUID');
  if (!sourceSop || !volume.slices.some((slice) => slice.source.sopInstanceUid === sourceSop)) {
    throw new SegInputError(`the source instance ${sourceSop ?? '(no SOPInstanceUID)'} is not a slice of the volume`);
  }
  if (!geometry.frameOfReferenceUid) throw new SegInputError('the volume has no FrameOfReferenceUID');
  checkLength('AlgorithmName', algorithm.name, 64);
  checkLength('AlgorithmVersion', algorithm.version, 64);
  segments.forEach((segment) => checkLength('SegmentLabel', segment.label, 64));

  // ---- Decide the frames ----
  const masks = segments.map((segment) => segment.mask);
  const nonEmpty = masks.map((mask) => nonEmptyFrames(mask, framePixels, sliceCount));
  const anyOnSlice = new Uint8Array(sliceCount);
  for (const flags of nonEmpty) for (let k = 0; k < sliceCount; k++) anyOnSlice[k] |= flags[k];
  const omit = (options.omitEmptyFrames ?? false) && anyOnSlice.some((flag) => flag !== 0);
  const frames: FramePlan[] = [];
  if (type === 'BINARY') {
    segments.forEach((_, s) => {
      for (let k = 0; k < sliceCount; k++) if (!omit || nonEmpty[s][k]) frames.push({ segment: s + 1, k });
    });
  } else {
    for (let k = 0; k < sliceCount; k++) if (!omit || anyOnSlice[k]) frames.push({ segment: 0, k });
  }
  // ImagePositionPatient dimension: the rank of the slice among the positions this object holds.
  const positionIndex = new Int32Array(sliceCount).fill(-1);
  let planes = 0;
  for (let k = 0; k < sliceCount; k++) if (!omit || anyOnSlice[k]) positionIndex[k] = ++planes;

  // ---- BINARY pixel data, packed first: SegmentsOverlap is read off the packed frames ----
  let packed: Uint8Array | undefined;
  let overlap = false;
  if (type === 'BINARY') {
    const packer = new BitPacker(frames.length * framePixels);
    const framesBySlice: number[][] = Array.from({ length: sliceCount }, () => []);
    frames.forEach(({ segment, k }, f) => {
      packer.append(masks[segment - 1], k * framePixels, framePixels);
      framesBySlice[k].push(f);
    });
    packed = packer.bytes;
    overlap =
      framePixels % 8 === 0
        ? packedFramesOverlap(packed, framePixels / 8, framesBySlice)
        : masksOverlap(masks, nonEmpty, framePixels);
  }

  // ---- Identity, text ----
  const { seriesInstanceUid, sopInstanceUid } = segUids(sourceSeriesUid, algorithm, type);
  const sopClassUid = type === 'BINARY' ? SegSopClass.Segmentation : SegSopClass.LabelMapSegmentation;
  const equipment: SegEquipment = {
    manufacturer: 'covid-ct-triage',
    manufacturerModelName: 'covid-ct-triage SEG writer',
    deviceSerialNumber: '1',
    softwareVersions: [`${algorithm.id} ${algorithm.version}`],
    ...options.equipment,
  };
  const softwareVersions = [equipment.softwareVersions].flat();
  const seriesDescription = `AI lung and lesion SEG - ${NOT_FOR_CLINICAL_USE}`;
  const warning = ` - ${NOT_FOR_CLINICAL_USE}`;
  const contentDescription = `${algorithm.name} ${algorithm.version}`.slice(0, 64 - warning.length) + warning;

  const ours = [
    algorithm.name,
    algorithm.version,
    contentDescription,
    ...segments.map((segment) => segment.label),
    equipment.manufacturer,
    equipment.manufacturerModelName,
    equipment.deviceSerialNumber,
    ...softwareVersions,
  ];
  const text = derivedObjectHeader(source, ours, (message) => new SegInputError(message));
  const copied = text.copied;

  const now = options.contentDateTime ?? new Date();
  const date = dicomDate(now);
  const time = dicomTime(now);

  // ---- Segments ----
  const algorithmIdentification = {
    AlgorithmFamilyCodeSequence: [codeItem(Codes.artificialIntelligence)],
    AlgorithmName: text.ourText(algorithm.name),
    AlgorithmVersion: text.ourText(algorithm.version),
  };
  const segmentSequence: Dataset[] = segments.map((segment, s) => ({
    SegmentNumber: s + 1,
    SegmentLabel: text.ourText(segment.label),
    SegmentedPropertyCategoryCodeSequence: [codeItem(segment.category)],
    SegmentedPropertyTypeCodeSequence: [
      {
        ...codeItem(segment.type),
        SegmentedPropertyTypeModifierCodeSequence: segment.typeModifier ? [codeItem(segment.typeModifier)] : undefined,
      },
    ],
    SegmentAlgorithmType: 'AUTOMATIC',
    SegmentAlgorithmName: text.ourText(algorithm.name),
    SegmentationAlgorithmIdentificationSequence: [algorithmIdentification],
    RecommendedDisplayCIELabValue: segment.displayColor,
  }));

  // ---- Multi-frame dimensions and functional groups ----
  const dimensionOrganizationUid = deterministicUid(sopInstanceUid, 'dimension-organization');
  const positionDimension = {
    DimensionOrganizationUID: dimensionOrganizationUid,
    DimensionIndexPointer: tagOf('ImagePositionPatient'),
    FunctionalGroupPointer: tagOf('PlanePositionSequence'),
    DimensionDescriptionLabel: 'Image Position Patient',
  };
  const dimensionIndexSequence: Dataset[] =
    type === 'BINARY'
      ? [
          {
            DimensionOrganizationUID: dimensionOrganizationUid,
            DimensionIndexPointer: tagOf('ReferencedSegmentNumber'),
            FunctionalGroupPointer: tagOf('SegmentIdentificationSequence'),
            DimensionDescriptionLabel: 'Referenced Segment Number',
          },
          positionDimension,
        ]
      : [positionDimension];
  // "3D": one spatial dimension over equally spaced parallel planes (a LABELMAP without gaps).
  const contiguous = frames.length > 1 && frames.at(-1)!.k - frames[0].k === frames.length - 1;
  const dimensionOrganizationType = type === 'LABELMAP' && contiguous ? '3D' : undefined;

  const [columnSpacing, rowSpacing, sliceSpacing] = geometry.spacing;
  const sliceThickness = source.number('SliceThickness') ?? sliceSpacing;
  const purpose = [codeItem(Codes.sourceImageForProcessing)];
  const derivationCode = [codeItem(Codes.segmentation)];
  const derivationBySlice = volume.slices.map((slice): Dataset[] => [
    {
      DerivationCodeSequence: derivationCode,
      SourceImageSequence: [
        {
          ReferencedSOPClassUID: slice.source.sopClassUid,
          ReferencedSOPInstanceUID: slice.source.sopInstanceUid,
          ReferencedFrameNumber: slice.source.frameNumber,
          SpatialLocationsPreserved: 'YES',
          PurposeOfReferenceCodeSequence: purpose,
        },
      ],
    },
  ]);
  const perFrame: Dataset[] = frames.map(({ segment, k }) => ({
    DerivationImageSequence: derivationBySlice[k],
    FrameContentSequence: [
      { DimensionIndexValues: type === 'BINARY' ? [segment, positionIndex[k]] : [positionIndex[k]] },
    ],
    PlanePositionSequence: [{ ImagePositionPatient: volume.slices[k].position }],
    SegmentIdentificationSequence: type === 'BINARY' ? [{ ReferencedSegmentNumber: segment }] : undefined,
  }));

  // Common Instance Reference: every source instance, once, in volume order.
  const referencedInstances = new Map<string, string>();
  for (const slice of volume.slices) referencedInstances.set(slice.source.sopInstanceUid, slice.source.sopClassUid);

  const dataset: Dataset = {
    SpecificCharacterSet: text.specificCharacterSet,
    ImageType: ['DERIVED', 'PRIMARY'],
    InstanceCreationDate: date,
    InstanceCreationTime: time,
    SOPClassUID: sopClassUid,
    SOPInstanceUID: sopInstanceUid,
    SeriesDate: date,
    SeriesTime: time,
    ContentDate: date,
    ContentTime: time,
    Modality: 'SEG',
    Manufacturer: text.ourText(equipment.manufacturer),
    SeriesDescription: seriesDescription,
    ManufacturerModelName: text.ourText(equipment.manufacturerModelName),
    ReferencedSeriesSequence: [
      {
        SeriesInstanceUID: sourceSeriesUid,
        ReferencedInstanceSequence: [...referencedInstances].map(([uid, sopClass]) => ({
          ReferencedSOPClassUID: sopClass,
          ReferencedSOPInstanceUID: uid,
        })),
      },
    ],
    ...copied,
    DeviceSerialNumber: text.ourText(equipment.deviceSerialNumber),
    SoftwareVersions: softwareVersions.map(text.ourText),
    StudyInstanceUID: studyInstanceUid,
    SeriesInstanceUID: seriesInstanceUid,
    SeriesNumber: options.seriesNumber ?? DEFAULT_SEG_SERIES_NUMBER,
    InstanceNumber: options.instanceNumber ?? 1,
    FrameOfReferenceUID: geometry.frameOfReferenceUid,
    PositionReferenceIndicator: '',
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: dimensionOrganizationUid }],
    DimensionIndexSequence: dimensionIndexSequence,
    DimensionOrganizationType: dimensionOrganizationType,
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    NumberOfFrames: frames.length,
    Rows: rows,
    Columns: columns,
    BitsAllocated: type === 'BINARY' ? 1 : 8,
    BitsStored: type === 'BINARY' ? 1 : 8,
    HighBit: type === 'BINARY' ? 0 : 7,
    PixelRepresentation: 0,
    PixelPaddingValue: type === 'LABELMAP' ? 0 : undefined,
    LossyImageCompression: '00',
    SegmentationType: type,
    SegmentSequence: segmentSequence,
    SegmentsOverlap: type === 'BINARY' ? (overlap ? 'YES' : 'NO') : 'NO',
    ContentLabel: 'NOT_FOR_CLINICAL',
    ContentDescription: text.ourText(contentDescription),
    ContentCreatorName: '',
    PresentationLUTShape: 'IDENTITY',
    SharedFunctionalGroupsSequence: [
      {
        PixelMeasuresSequence: [
          {
            PixelSpacing: [rowSpacing, columnSpacing],
            SliceThickness: sliceThickness,
            SpacingBetweenSlices: sliceSpacing,
          },
        ],
        PlaneOrientationSequence: [{ ImageOrientationPatient: geometry.imageOrientation }],
      },
    ],
    PerFrameFunctionalGroupsSequence: perFrame,
  };

  // Pixel data goes after the header: copied once (BINARY) or labelled in place (LABELMAP).
  const pixelBytes = type === 'BINARY' ? Math.ceil((frames.length * framePixels) / 8) : frames.length * framePixels;
  const head = writePart10(dataset);
  const padded = pixelBytes + (pixelBytes % 2);
  const bytes = Buffer.allocUnsafe(head.length + PIXEL_DATA_HEADER_BYTES + padded);
  head.copy(bytes, 0);
  writePixelDataHeader(bytes, head.length, padded);
  const pixels = bytes.subarray(head.length + PIXEL_DATA_HEADER_BYTES);
  pixels[pixels.length - 1] = 0; // the pad byte, if any
  if (packed) pixels.set(packed);
  else
    labelFrames(
      masks,
      frames.map(({ k }) => k),
      framePixels,
      pixels,
    );

  return {
    bytes,
    seriesInstanceUid,
    sopInstanceUid,
    sopClassUid,
    frameCount: frames.length,
    segments: segments.map((segment, s) => ({ number: s + 1, label: segment.label })),
  };
}
