import {
  DerivedObjectInputError,
  derivedObjectUids,
  encodedDerivedObject,
  derivedObjectHeader,
  NOT_FOR_CLINICAL_USE,
  ourEquipment,
  SopClass,
  writePart10,
  type DicomAttributes,
  type EncodedDicomObject,
  type Equipment,
  type PlannedSlice,
  type VolumeGeometry,
} from '@app/dicom';
import { checkSegmentationInput } from './check-segmentation-input.js';
import type { SegmentDescriptor } from './codes.js';
import { appendPixelData, planFrames } from './plan-frames.js';
import { segmentationDataset } from './segmentation-dataset.js';

/**
 * DICOM Segmentation encoder (PS3.3 A.51 Segmentation IOD, A.51.x Label Map
 * Segmentation IOD): masks in the CtVolume layout in, one Part 10 multi-frame
 * object out, every frame tied to its source slice by position and by reference.
 * See docs/seg.md.
 */

export type SegmentationType = 'BINARY' | 'LABELMAP';

export const DEFAULT_SEG_SERIES_NUMBER = 9001;

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
  equipment?: Partial<Equipment>;
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

/** A segment as the SEG numbered it. */
export interface EncodedSegment {
  number: number;
  label: string;
}

export interface EncodedSegmentation extends EncodedDicomObject {
  frameCount: number;
  /** In SegmentNumber order: what references to the SEG's segments (the SR) are read from. */
  segments: EncodedSegment[];
}

/**
 * The SEG's UIDs depend only on what it is derived from and by which model. The SOP
 * Instance UID also depends on the segmentation type: a BINARY and a LABELMAP SEG are
 * different objects of different SOP classes.
 */
export function segUids(
  sourceSeriesInstanceUid: string,
  algorithm: Pick<SegAlgorithm, 'id' | 'version'>,
  segmentationType: SegmentationType = 'BINARY',
): { seriesInstanceUid: string; sopInstanceUid: string } {
  return derivedObjectUids(sourceSeriesInstanceUid, algorithm, 'SEG', segmentationType);
}

export function encodeSegmentation(input: SegInput): EncodedSegmentation {
  const { volume, sourceInstance: source, algorithm, segments } = input;
  const options = input.options ?? {};
  const type: SegmentationType = options.segmentationType ?? 'BINARY';
  if (type !== 'BINARY' && type !== 'LABELMAP') {
    throw new DerivedObjectInputError(`unknown segmentation type ${String(type)}`);
  }
  const checked = checkSegmentationInput(input, type);
  const framePixels = volume.geometry.rows * volume.geometry.columns;
  const masks = segments.map((segment) => segment.mask);
  const layout = planFrames(masks, framePixels, volume.slices.length, type, options.omitEmptyFrames ?? false);

  const { seriesInstanceUid, sopInstanceUid } = segUids(checked.sourceSeriesUid, algorithm, type);
  const sopClassUid = type === 'BINARY' ? SopClass.Segmentation : SopClass.LabelMapSegmentation;
  const equipment = ourEquipment('covid-ct-triage SEG writer', algorithm, options.equipment);
  const warning = ` - ${NOT_FOR_CLINICAL_USE}`;
  const contentDescription = `${algorithm.name} ${algorithm.version}`.slice(0, 64 - warning.length) + warning;
  const ours = [algorithm.name, algorithm.version, contentDescription, ...segments.map((segment) => segment.label)];
  const identity = {
    modality: 'SEG',
    sopClassUid,
    sopInstanceUid,
    studyInstanceUid: checked.studyInstanceUid,
    seriesInstanceUid,
    seriesNumber: options.seriesNumber ?? DEFAULT_SEG_SERIES_NUMBER,
    instanceNumber: options.instanceNumber ?? 1,
    seriesDescription: `AI lung and lesion SEG - ${NOT_FOR_CLINICAL_USE}`,
    contentDateTime: options.contentDateTime ?? new Date(),
  } as const;

  const dataset = segmentationDataset({
    input,
    type,
    layout,
    header: derivedObjectHeader(source, identity, equipment, ours),
    sopInstanceUid,
    source: checked,
    contentDescription,
  });
  return {
    ...encodedDerivedObject(identity, appendPixelData(writePart10(dataset), layout, masks, framePixels)),
    frameCount: layout.frames.length,
    segments: segments.map((segment, s) => ({ number: s + 1, label: segment.label })),
  };
}

/**
 * The number the encoded SEG gave the segment `descriptor` describes, matched by label: how
 * the SR refers to the SEG's segments without a numbering that must match by hand.
 */
export function segmentNumberOf(
  segmentation: Pick<EncodedSegmentation, 'segments'>,
  descriptor: Pick<SegmentDescriptor, 'label'>,
): number {
  const found = segmentation.segments.filter((segment) => segment.label === descriptor.label);
  if (found.length !== 1) {
    throw new DerivedObjectInputError(
      `the SEG has ${found.length} segments labelled ${descriptor.label}, not exactly one`,
    );
  }
  return found[0].number;
}
