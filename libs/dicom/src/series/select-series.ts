import { PermanentError } from '@app/errors';
import type { DicomAttributes } from '../attributes.js';
import { sameOrientation, sliceNormal } from '../geometry.js';
import { SopClass } from '../sop-classes.js';
import { isDicomUid } from '../uid.js';

/**
 * Picks, from all series of a study, the one axial chest CT the model should see.
 * Every rule that rejects a series gives a one-line reason; among the series that
 * pass, a documented ranking decides (see docs/series-selection.md).
 */

export interface SeriesSelectionRules {
  /** Thicker slices are rejected, mm. */
  maxSliceThicknessMm: number;
  /** Slices thinner than this rank no better than this: they cost time without helping a 2 mm model. */
  thinSliceLimitMm: number;
  /** Fewer slices (frames) are rejected: the classification head needs 8 per axis after the lung crop. */
  minSlices: number;
  /** An axial series' slice normal is within this angle of the patient's feet–head axis, degrees. */
  maxAxialTiltDegrees: number;
  /** ConvolutionKernel values that mark a lung (sharp) reconstruction, preferred over others. */
  lungKernels: RegExp;
  /** ImageType values that disqualify a series. */
  rejectedImageTypes: string[];
}

export const DEFAULT_SELECTION_RULES: SeriesSelectionRules = {
  maxSliceThicknessMm: 5,
  thinSliceLimitMm: 1,
  minSlices: 16,
  maxAxialTiltDegrees: 10,
  lungKernels: /lung|^b[5-9]\d|^br[5-9]\d|^i[5-9]\d|^fc5\d|^fc8\d|^y[a-d]$|^l$/i,
  rejectedImageTypes: ['LOCALIZER', 'DERIVED', 'SECONDARY', 'REFORMATTED', 'MPR', 'MIP', 'MINIP', 'PROJECTION IMAGE'],
};

export interface SeriesCandidate {
  seriesInstanceUid: string;
  /** One entry per instance: its attributes (file header or DICOMweb metadata). */
  instances: DicomAttributes[];
}

export interface RejectedSeries {
  seriesInstanceUid: string;
  description: string;
  reason: string;
}

export interface SelectedSeries {
  seriesInstanceUid: string;
  description: string;
  sliceCount: number;
  sliceThicknessMm: number;
  convolutionKernel: string;
  lungKernel: boolean;
  /** Why this one won, in words. */
  reason: string;
}

export interface SeriesSelection {
  selected: SelectedSeries;
  rejected: RejectedSeries[];
}

/** No series of the study can be used. Permanent: the study itself has to change. */
export class NoUsableSeriesError extends PermanentError {
  constructor(readonly rejected: RejectedSeries[]) {
    const summary = rejected.map((r) => `${r.seriesInstanceUid}: ${r.reason}`).join('; ');
    super(
      'NO_USABLE_SERIES',
      `no usable axial CT series (${rejected.length} rejected${summary ? `: ${summary}` : ''})`,
    );
  }
}

interface Assessment {
  candidate: SeriesCandidate;
  description: string;
  frames: number;
  thickness: number;
  kernel: string;
}

/** Frames of an instance: 1 for classic CT, NumberOfFrames for Enhanced CT. */
function frameCount(instance: DicomAttributes): number {
  return instance.number('NumberOfFrames') ?? 1;
}

/** ImageOrientationPatient of a classic or Enhanced CT instance. */
export function orientationOf(instance: DicomAttributes): number[] {
  const direct = instance.numbers('ImageOrientationPatient');
  if (direct.length === 6) return direct;
  const shared = instance.sequence('SharedFunctionalGroupsSequence')[0]?.sequence('PlaneOrientationSequence')[0];
  const perFrame = instance.sequence('PerFrameFunctionalGroupsSequence')[0]?.sequence('PlaneOrientationSequence')[0];
  return (shared ?? perFrame)?.numbers('ImageOrientationPatient') ?? [];
}

function sliceThicknessOf(instance: DicomAttributes): number | undefined {
  return (
    instance.number('SliceThickness') ??
    instance
      .sequence('SharedFunctionalGroupsSequence')[0]
      ?.sequence('PixelMeasuresSequence')[0]
      ?.number('SliceThickness')
  );
}

function imageTypeOf(instance: DicomAttributes): string[] {
  const classic = instance.strings('ImageType');
  if (classic.length > 0) return classic.map((v) => v.toUpperCase());
  return (
    instance
      .sequence('SharedFunctionalGroupsSequence')[0]
      ?.sequence('CTImageFrameTypeSequence')[0]
      ?.strings('FrameType') ?? []
  ).map((v) => v.toUpperCase());
}

/**
 * Our SEG and SR must reference the CT by its UIDs and share its frame of reference, so a
 * series whose UIDs are not DICOM UIDs (e.g. UUID strings, which some gateways write) or
 * that has no FrameOfReferenceUID cannot be answered with valid objects. Rewriting its UIDs
 * would leave the references dangling, so it is refused, naming the attribute.
 */
function uidProblemOf(candidate: SeriesCandidate): string | undefined {
  if (!isDicomUid(candidate.seriesInstanceUid)) return invalid('SeriesInstanceUID', candidate.seriesInstanceUid);
  for (const instance of candidate.instances) {
    const sop = instance.string('SOPInstanceUID');
    if (sop === undefined || !isDicomUid(sop)) return invalid('SOPInstanceUID', sop);
    const frame = instance.string('FrameOfReferenceUID');
    if (frame === undefined || !isDicomUid(frame)) return invalid('FrameOfReferenceUID', frame);
  }
  return undefined;
}

function invalid(name: string, value: string | undefined): string {
  const what = value === undefined || value === '' ? 'is missing' : 'is not a DICOM UID';
  return `${name} ${what}: our SEG and SR must reference the CT by valid UIDs`;
}

/** The reason a series cannot be used, or undefined when it can. */
function rejectionReason(candidate: SeriesCandidate, rules: SeriesSelectionRules): string | undefined {
  const first = candidate.instances[0];
  if (!first) return 'the series has no instances';
  const modality = first.string('Modality') ?? '(none)';
  if (modality !== 'CT') return `modality ${modality} is not CT`;
  const sopClasses = new Set(candidate.instances.map((i) => i.string('SOPClassUID') ?? ''));
  const unsupported = [...sopClasses].filter((uid) => uid !== SopClass.CtImage && uid !== SopClass.EnhancedCtImage);
  if (unsupported.length > 0) return `SOP class ${unsupported.join(', ')} is not (Enhanced) CT Image Storage`;
  const uidProblem = uidProblemOf(candidate);
  if (uidProblem) return uidProblem;
  for (const instance of candidate.instances) {
    const imageType = imageTypeOf(instance);
    const bad = imageType.find((value) => rules.rejectedImageTypes.includes(value));
    if (bad) return `image type ${imageType.join('\\')} contains ${bad}`;
    if (imageType.length > 0 && !(imageType[0] === 'ORIGINAL' && imageType[1] === 'PRIMARY')) {
      return `image type ${imageType.join('\\')} is not ORIGINAL\\PRIMARY`;
    }
  }
  const orientations = candidate.instances.map(orientationOf);
  if (orientations.some((o) => o.length !== 6)) return 'an instance has no ImageOrientationPatient';
  if (orientations.some((o) => !sameOrientation(o, orientations[0]))) return 'instances have different orientations';
  const tilt = (Math.acos(Math.min(1, Math.abs(sliceNormal(orientations[0])[2]))) * 180) / Math.PI;
  if (tilt > rules.maxAxialTiltDegrees) return `not axial: slice normal ${tilt.toFixed(0)}° from the feet–head axis`;
  const sizes = new Set(candidate.instances.map((i) => `${i.number('Rows')}x${i.number('Columns')}`));
  if (sizes.size > 1) return `instances have different matrix sizes (${[...sizes].join(', ')})`;
  const frames = candidate.instances.reduce((sum, i) => sum + frameCount(i), 0);
  if (frames < rules.minSlices) return `${frames} slices, fewer than the ${rules.minSlices} required`;
  const thickness = sliceThicknessOf(first);
  if (thickness !== undefined && thickness > rules.maxSliceThicknessMm) {
    return `slice thickness ${thickness} mm exceeds ${rules.maxSliceThicknessMm} mm`;
  }
  return undefined;
}

function assess(candidate: SeriesCandidate): Assessment {
  const first = candidate.instances[0];
  return {
    candidate,
    description: first.string('SeriesDescription') ?? '',
    frames: candidate.instances.reduce((sum, i) => sum + frameCount(i), 0),
    thickness: sliceThicknessOf(first) ?? Number.POSITIVE_INFINITY,
    kernel: first.string('ConvolutionKernel') ?? '',
  };
}

export function selectSeries(
  candidates: SeriesCandidate[],
  rules: SeriesSelectionRules = DEFAULT_SELECTION_RULES,
): SeriesSelection {
  const rejected: RejectedSeries[] = [];
  const usable: Assessment[] = [];
  for (const candidate of candidates) {
    const reason = rejectionReason(candidate, rules);
    const assessment = candidate.instances.length > 0 ? assess(candidate) : undefined;
    if (reason === undefined && assessment) usable.push(assessment);
    else
      rejected.push({
        seriesInstanceUid: candidate.seriesInstanceUid,
        description: assessment?.description ?? '',
        reason: reason!,
      });
  }
  if (usable.length === 0) throw new NoUsableSeriesError(rejected);

  // Ranking: a lung kernel first, then the thinnest slices (down to the limit), then the most slices.
  const isLung = (a: Assessment) => rules.lungKernels.test(a.kernel.trim());
  const effectiveThickness = (a: Assessment) => Math.max(a.thickness, rules.thinSliceLimitMm);
  const ranked = usable.toSorted(
    (a, b) =>
      Number(isLung(b)) - Number(isLung(a)) ||
      effectiveThickness(a) - effectiveThickness(b) ||
      b.frames - a.frames ||
      a.candidate.seriesInstanceUid.localeCompare(b.candidate.seriesInstanceUid),
  );
  const [best, ...others] = ranked;
  for (const other of others) {
    rejected.push({
      seriesInstanceUid: other.candidate.seriesInstanceUid,
      description: other.description,
      reason: `usable, but ranked below ${best.candidate.seriesInstanceUid} (${describeRank(other, isLung(other))})`,
    });
  }
  const reason =
    usable.length === 1
      ? 'the only usable axial CT series'
      : `best of ${usable.length} usable series: ${describeRank(best, isLung(best))}`;
  return {
    selected: {
      seriesInstanceUid: best.candidate.seriesInstanceUid,
      description: best.description,
      sliceCount: best.frames,
      sliceThicknessMm: best.thickness,
      convolutionKernel: best.kernel,
      lungKernel: isLung(best),
      reason,
    },
    rejected,
  };
}

function describeRank(a: Assessment, lung: boolean): string {
  const kernel = a.kernel ? `kernel ${a.kernel.trim()}${lung ? ' (lung)' : ''}` : 'no kernel';
  return `${kernel}, ${Number.isFinite(a.thickness) ? `${a.thickness} mm` : 'unknown thickness'}, ${a.frames} slices`;
}
