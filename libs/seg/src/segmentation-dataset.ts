import { codeItem, deterministicUid, tagOf, type Dataset, type DerivedObjectHeader } from '@app/dicom';
import { Codes } from './codes.js';
import type { SegInput, SegmentationType } from './encode-segmentation.js';
import type { FrameLayout } from './plan-frames.js';

/** What the SEG's dataset is made of, once the input is checked and the frames planned. */
export interface SegDatasetParts {
  input: SegInput;
  type: SegmentationType;
  layout: FrameLayout;
  header: DerivedObjectHeader;
  sopInstanceUid: string;
  source: { sourceSeriesUid: string; frameOfReferenceUid: string };
  contentDescription: string;
}

/** Segment Sequence: one item per segment, numbered 1, 2, … in input order. */
function segmentSequence({ input, header: text }: SegDatasetParts): Dataset[] {
  const { algorithm } = input;
  const algorithmIdentification = {
    AlgorithmFamilyCodeSequence: [codeItem(Codes.artificialIntelligence)],
    AlgorithmName: text.ourText(algorithm.name),
    AlgorithmVersion: text.ourText(algorithm.version),
  };
  return input.segments.map((segment, s) => ({
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
}

/** Multi-frame Dimension module: segment number (BINARY) and position. */
function dimensions({ type, layout, sopInstanceUid }: SegDatasetParts): Dataset {
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
  const { frames } = layout;
  const contiguous = frames.length > 1 && frames.at(-1)!.k - frames[0].k === frames.length - 1;
  return {
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: dimensionOrganizationUid }],
    DimensionIndexSequence: dimensionIndexSequence,
    DimensionOrganizationType: type === 'LABELMAP' && contiguous ? '3D' : undefined,
  };
}

/** Per-frame functional groups: every frame tied to its source slice by position and by reference. */
function perFrameGroups({ input, type, layout }: SegDatasetParts): Dataset[] {
  const { volume } = input;
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
  const { positionIndex } = layout;
  return layout.frames.map(({ segment, k }) => ({
    DerivationImageSequence: derivationBySlice[k],
    FrameContentSequence: [
      { DimensionIndexValues: type === 'BINARY' ? [segment, positionIndex[k]] : [positionIndex[k]] },
    ],
    PlanePositionSequence: [{ ImagePositionPatient: volume.slices[k].position }],
    SegmentIdentificationSequence: type === 'BINARY' ? [{ ReferencedSegmentNumber: segment }] : undefined,
  }));
}

/** The SEG's dataset without its pixel data (PS3.3 A.51, A.51.x). */
export function segmentationDataset(parts: SegDatasetParts): Dataset {
  const { input, type, layout, header: text, source } = parts;
  const { volume } = input;
  const { geometry } = volume;
  const [columnSpacing, rowSpacing, sliceSpacing] = geometry.spacing;
  const sliceThickness = input.sourceInstance.number('SliceThickness') ?? sliceSpacing;

  // Common Instance Reference: every source instance, once, in volume order.
  const referencedInstances = new Map<string, string>();
  for (const slice of volume.slices) referencedInstances.set(slice.source.sopInstanceUid, slice.source.sopClassUid);

  return {
    ...text.attributes,
    ImageType: ['DERIVED', 'PRIMARY'],
    ReferencedSeriesSequence: [
      {
        SeriesInstanceUID: source.sourceSeriesUid,
        ReferencedInstanceSequence: [...referencedInstances].map(([uid, sopClass]) => ({
          ReferencedSOPClassUID: sopClass,
          ReferencedSOPInstanceUID: uid,
        })),
      },
    ],
    FrameOfReferenceUID: source.frameOfReferenceUid,
    PositionReferenceIndicator: '',
    ...dimensions(parts),
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    NumberOfFrames: layout.frames.length,
    Rows: geometry.rows,
    Columns: geometry.columns,
    BitsAllocated: type === 'BINARY' ? 1 : 8,
    BitsStored: type === 'BINARY' ? 1 : 8,
    HighBit: type === 'BINARY' ? 0 : 7,
    PixelRepresentation: 0,
    PixelPaddingValue: type === 'LABELMAP' ? 0 : undefined,
    LossyImageCompression: '00',
    SegmentationType: type,
    SegmentSequence: segmentSequence(parts),
    SegmentsOverlap: type === 'BINARY' ? (layout.overlap ? 'YES' : 'NO') : 'NO',
    ContentLabel: 'NOT_FOR_CLINICAL',
    ContentDescription: text.ourText(parts.contentDescription),
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
    PerFrameFunctionalGroupsSequence: perFrameGroups(parts),
  };
}
