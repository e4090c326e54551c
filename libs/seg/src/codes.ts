import type { CodedConcept } from '@app/dicom';

/**
 * Coded concepts the SEG writer uses, checked against the DICOM code dictionary
 * that pydicom 3.0.2 bundles (PS3.16 2025) and against what highdicom 0.28 writes.
 *
 * - Segmented Property Category (CID 7150): SCT 91723000 "Anatomical Structure" and
 *   SCT 49755003 "Morphologically Abnormal Structure". The older SCT 123037004 ("Body
 *   structure") is no longer in CID 7150.
 * - Segmented Property Type: SCT 39607008 "Lung" (CID 7151, CID 7192) and SCT 52988006
 *   "Lesion" (CID 7151, CID 7159). CID 7151 holds no left/right lung concepts: the
 *   laterality of a paired structure goes in the Segmented Property Type Modifier Code
 *   Sequence, from CID 244, SCT 7771000 "Left" and SCT 24028007 "Right". "Left lung"
 *   (44029006) and "Right lung" (3341006) are not in any CID.
 * - Algorithm Family (CID 7162): DCM 123110 "Artificial Intelligence".
 * - Derivation (CID 7203): DCM 113076 "Segmentation". Purpose of the source reference
 *   (CID 7202): DCM 121322 "Source image for image processing operation".
 */

export const Codes = {
  anatomicalStructure: { value: '91723000', scheme: 'SCT', meaning: 'Anatomical Structure' },
  morphologicallyAbnormalStructure: { value: '49755003', scheme: 'SCT', meaning: 'Morphologically Abnormal Structure' },
  lung: { value: '39607008', scheme: 'SCT', meaning: 'Lung' },
  lesion: { value: '52988006', scheme: 'SCT', meaning: 'Lesion' },
  left: { value: '7771000', scheme: 'SCT', meaning: 'Left' },
  right: { value: '24028007', scheme: 'SCT', meaning: 'Right' },
  artificialIntelligence: { value: '123110', scheme: 'DCM', meaning: 'Artificial Intelligence' },
  segmentation: { value: '113076', scheme: 'DCM', meaning: 'Segmentation' },
  sourceImageForProcessing: { value: '121322', scheme: 'DCM', meaning: 'Source image for image processing operation' },
} as const satisfies Record<string, CodedConcept>;

/** What a segment is; the mask comes separately. */
export interface SegmentDescriptor {
  /** SegmentLabel (LO, at most 64 characters). */
  label: string;
  category: CodedConcept;
  type: CodedConcept;
  /** Laterality and the like (CID 244), in the Segmented Property Type Modifier Code Sequence. */
  typeModifier?: CodedConcept;
  /** RecommendedDisplayCIELabValue: L*, a*, b* scaled to 0..65535 as PS3.3 C.10.7.1.1 says. */
  displayColor?: [number, number, number];
}

/** The segments our model produces, in the order the writer numbers them (1, 2, 3). */
export const LEFT_LUNG: SegmentDescriptor = {
  label: 'Left lung',
  category: Codes.anatomicalStructure,
  type: Codes.lung,
  typeModifier: Codes.left,
  displayColor: [43803, 26565, 37722], // sRGB 128,174,128
};

export const RIGHT_LUNG: SegmentDescriptor = {
  label: 'Right lung',
  category: Codes.anatomicalStructure,
  type: Codes.lung,
  typeModifier: Codes.right,
  displayColor: [46587, 28817, 27705], // sRGB 111,184,210
};

export const COVID_LESION: SegmentDescriptor = {
  label: 'COVID-19 lesion',
  category: Codes.morphologicallyAbnormalStructure,
  type: Codes.lesion,
  displayColor: [34125, 49270, 45855], // sRGB 230,60,40
};
