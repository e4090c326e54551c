import { readPart10, type DicomAttributes } from '@app/dicom';
import { syntheticCtSeries } from '@app/dicom/phantom';
import { COVID_LESION, LEFT_LUNG, RIGHT_LUNG, type EncodedSegmentation } from '@app/seg';
import { TRACKING_IDENTIFIERS } from '@app/sr';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryStudySource } from './testing/memory-study-source.js';
import { ThresholdAnalyzer } from './testing/threshold-analyzer.js';
import { analyze, encodeSeg, encodeSr, fetchStudy } from './triage-pipeline.js';

/**
 * The SR refers to the SEG's segments by number. The numbers come from the SEG as encoded,
 * never from a second list that must be kept in step by hand: these tests fail when the SR's
 * references and the SEG's segments disagree.
 */

/** Tracking identifier → the segment numbers its measurement group references. */
function referencedSegments(sr: DicomAttributes): Map<string, number[]> {
  const found = new Map<string, number[]>();
  const visit = (item: DicomAttributes, group: string | undefined) => {
    const identifier = item
      .sequence('ContentSequence')
      .find((child) => child.sequence('ConceptNameCodeSequence')[0]?.string('CodeValue') === '112039')
      ?.string('TextValue');
    const current = identifier ?? group;
    for (const reference of item.sequence('ReferencedSOPSequence')) {
      const numbers = reference.numbers('ReferencedSegmentNumber');
      if (current && numbers.length > 0) found.set(current, numbers);
    }
    for (const child of item.sequence('ContentSequence')) visit(child, current);
  };
  visit(sr, undefined);
  return found;
}

describe('encodeSr: segment numbers from the encoded SEG', () => {
  const analyzer = new ThresholdAnalyzer();
  let study: Awaited<ReturnType<typeof fetchStudy>>;
  let analysis: Awaited<ReturnType<typeof analyze>>;
  let seg: EncodedSegmentation;
  beforeAll(async () => {
    const series = syntheticCtSeries({ rows: 32, columns: 32, slices: 20, attributes: { ConvolutionKernel: 'LUNG' } });
    study = await fetchStudy(new MemoryStudySource(series.instances.map((instance) => instance.bytes)));
    analysis = await analyze(analyzer, study);
    seg = encodeSeg(study, analysis, analyzer.model);
  });

  const labelsReferenced = (segmentation: EncodedSegmentation) => {
    const sr = readPart10(encodeSr(study, analysis, segmentation).bytes).dataset;
    const labelOf = (n: number) => segmentation.segments.find((segment) => segment.number === n)?.label;
    return Object.fromEntries(
      [...referencedSegments(sr)].map(([identifier, numbers]) => [identifier, numbers.map(labelOf)]),
    );
  };

  it('references, for every region, the SEG segment of that region', () => {
    const { lung, lesion } = TRACKING_IDENTIFIERS;
    expect(labelsReferenced(seg)).toEqual({
      [lung.left]: [LEFT_LUNG.label],
      [lung.right]: [RIGHT_LUNG.label],
      [lung.both]: [LEFT_LUNG.label, RIGHT_LUNG.label],
      [lesion.left]: [COVID_LESION.label],
      [lesion.right]: [COVID_LESION.label],
      [lesion.both]: [COVID_LESION.label],
    });
  });

  it('follows the SEG when it numbers its segments otherwise', () => {
    const renumbered: EncodedSegmentation = {
      ...seg,
      segments: [
        { number: 3, label: LEFT_LUNG.label },
        { number: 1, label: RIGHT_LUNG.label },
        { number: 2, label: COVID_LESION.label },
      ],
    };
    const { lung, lesion } = TRACKING_IDENTIFIERS;
    expect(labelsReferenced(renumbered)).toMatchObject({
      [lung.left]: [LEFT_LUNG.label],
      [lung.right]: [RIGHT_LUNG.label],
      [lesion.both]: [COVID_LESION.label],
    });
  });

  it('refuses a SEG that lacks one of the segments the SR reports', () => {
    const withoutLesion: EncodedSegmentation = { ...seg, segments: seg.segments.slice(0, 2) };
    expect(() => encodeSr(study, analysis, withoutLesion)).toThrow(/labelled COVID-19 lesion/);
  });
});
