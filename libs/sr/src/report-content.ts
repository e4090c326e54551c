import { deterministicUid, DISCLAIMER, type Dataset, type DicomObjectRef } from '@app/dicom';
import {
  LUNG_REGIONS,
  type LungRegion,
  type LungRegionMeasurement,
  type ModelIdentity,
  type TriageMeasurements,
} from '@app/triage-contracts';
import { SrCodes, Units, type SrCode } from './codes.js';
import { codeContent, container, imageContent, numContent, textContent, uidrefContent } from './content.js';
import type { SrSegmentationReference } from './encode-measurement-report.js';

/**
 * The content tree of the TID 1500 Imaging Measurement Report: the observer (the model),
 * the Image Library, one measurement group per lung region and per lesion region, each
 * tied to our SEG by segment number, and the study-level outputs.
 */

/** Tracking identifiers of the measurement groups, in document order. */
export const TRACKING_IDENTIFIERS = {
  lung: { left: 'Left lung', right: 'Right lung', both: 'Both lungs' },
  lesion: {
    left: 'COVID-19 lesion, left lung',
    right: 'COVID-19 lesion, right lung',
    both: 'COVID-19 lesion, both lungs',
  },
  study: 'COVID-19 triage, study level',
} as const;

/** The device observer is the model: one UID per model id and version, across studies. */
export function deviceObserverUid(model: Pick<ModelIdentity, 'id' | 'version'>): string {
  return deterministicUid('device-observer', model.id, model.version);
}

const LATERALITY: Record<LungRegion, SrCode> = { left: SrCodes.left, right: SrCodes.right, both: SrCodes.bilateral };

/** Finding Site: lung, with the region's laterality (CID 244; both lungs: Bilateral). */
const lungSite = (region: LungRegion) =>
  codeContent('HAS CONCEPT MOD', SrCodes.findingSite, SrCodes.lung, [
    codeContent('HAS CONCEPT MOD', SrCodes.laterality, LATERALITY[region]),
  ]);

export interface ReportContentInput {
  measurements: TriageMeasurements;
  byRegion: Map<LungRegion, LungRegionMeasurement>;
  sopInstanceUid: string;
  sourceSeriesUid: string;
  /** SOP Instance UID → SOP Class UID of every source instance. */
  instances: Map<string, string>;
  segmentation: DicomObjectRef;
  segmentNumbers: SrSegmentationReference['segmentNumbers'];
  manufacturer: string;
  ourText: (text: string) => string;
}

/** The root CONTAINER with its content, as attributes of the document's dataset. */
export function reportContent(input: ReportContentInput): Dataset {
  const { measurements, byRegion, sopInstanceUid, sourceSeriesUid, segmentation, ourText } = input;
  const { model } = measurements;
  const algorithm = [
    textContent('HAS CONCEPT MOD', SrCodes.algorithmName, ourText(model.name)),
    textContent('HAS CONCEPT MOD', SrCodes.algorithmVersion, ourText(model.version)),
  ];
  const tracking = (identifier: string, key: string) => [
    textContent('HAS OBS CONTEXT', SrCodes.trackingIdentifier, identifier),
    uidrefContent('HAS OBS CONTEXT', SrCodes.trackingUid, deterministicUid(sopInstanceUid, 'tracking', key)),
  ];
  const segments = input.segmentNumbers;
  const lungSegments: Record<LungRegion, number[]> = {
    left: [segments.leftLung],
    right: [segments.rightLung],
    both: [segments.leftLung, segments.rightLung],
  };
  const referencedSegment = (segmentNumbers: number[]) => [
    imageContent('CONTAINS', SrCodes.referencedSegment, {
      sopClassUid: segmentation.sopClassUid,
      sopInstanceUid: segmentation.sopInstanceUid,
      segmentNumbers,
    }),
    uidrefContent('CONTAINS', SrCodes.sourceSeriesForSegmentation, sourceSeriesUid),
  ];

  // TID 1411, one group per region for the lung and one for the lesion inside it.
  const lungGroups = LUNG_REGIONS.map((region) =>
    container(
      'CONTAINS',
      SrCodes.measurementGroup,
      [
        ...tracking(TRACKING_IDENTIFIERS.lung[region], `lung/${region}`),
        codeContent('CONTAINS', SrCodes.finding, SrCodes.lung),
        lungSite(region),
        ...algorithm,
        ...referencedSegment(lungSegments[region]),
        numContent('CONTAINS', SrCodes.volume, byRegion.get(region)!.lungVolumeMl, Units.milliliter),
      ],
      '1411',
    ),
  );
  const lesionGroups = LUNG_REGIONS.map((region) =>
    container(
      'CONTAINS',
      SrCodes.measurementGroup,
      [
        ...tracking(TRACKING_IDENTIFIERS.lesion[region], `lesion/${region}`),
        codeContent('CONTAINS', SrCodes.finding, SrCodes.lesion),
        lungSite(region),
        ...algorithm,
        ...referencedSegment([segments.lesion]),
        numContent('CONTAINS', SrCodes.volume, byRegion.get(region)!.lesionVolumeMl, Units.milliliter),
        numContent('CONTAINS', SrCodes.percentAffected, byRegion.get(region)!.percentAffected, Units.percent),
      ],
      '1411',
    ),
  );
  // TID 1501: the study-level outputs, tied to no region.
  const studyGroup = container(
    'CONTAINS',
    SrCodes.measurementGroup,
    [
      ...tracking(TRACKING_IDENTIFIERS.study, 'study'),
      ...algorithm,
      numContent('CONTAINS', SrCodes.probability, measurements.covidProbability, Units.noUnits, [
        textContent('HAS CONCEPT MOD', SrCodes.equivalentMeaningOfConceptName, 'Probability of COVID-19'),
      ]),
      numContent('CONTAINS', SrCodes.severity, measurements.severityPercent, Units.percent),
    ],
    '1501',
  );

  return container(
    undefined,
    SrCodes.imagingMeasurementReport,
    [
      codeContent('HAS CONCEPT MOD', SrCodes.languageOfContent, SrCodes.english),
      // TID 1001 → TID 1002 with a device observer (TID 1004): the model.
      codeContent('HAS OBS CONTEXT', SrCodes.observerType, SrCodes.device),
      uidrefContent('HAS OBS CONTEXT', SrCodes.deviceObserverUid, deviceObserverUid(model)),
      textContent('HAS OBS CONTEXT', SrCodes.deviceObserverName, ourText(model.name)),
      textContent('HAS OBS CONTEXT', SrCodes.deviceObserverManufacturer, ourText(input.manufacturer)),
      textContent('HAS OBS CONTEXT', SrCodes.deviceObserverModelName, ourText(model.id)),
      codeContent('HAS CONCEPT MOD', SrCodes.procedureReported, SrCodes.ctChest),
      // TID 1600: every source instance, in one group (they are one series).
      container('CONTAINS', SrCodes.imageLibrary, [
        container(
          'CONTAINS',
          SrCodes.imageLibraryGroup,
          [...input.instances].map(([uid, sopClass]) =>
            imageContent('CONTAINS', SrCodes.source, { sopClassUid: sopClass, sopInstanceUid: uid }),
          ),
        ),
      ]),
      container('CONTAINS', SrCodes.imagingMeasurements, [...lungGroups, ...lesionGroups, studyGroup]),
      container('CONTAINS', SrCodes.qualitativeEvaluations, [textContent('CONTAINS', SrCodes.comment, DISCLAIMER)]),
    ],
    '1500',
  );
}
