/** SOP Class UIDs the project reads or writes (PS3.4 B.5): the one place they are spelled out. */
export const SopClass = {
  CtImage: '1.2.840.10008.5.1.4.1.1.2',
  EnhancedCtImage: '1.2.840.10008.5.1.4.1.1.2.1',
  /** Our SEG, BINARY. */
  Segmentation: '1.2.840.10008.5.1.4.1.1.66.4',
  /** Our SEG, LABELMAP. */
  LabelMapSegmentation: '1.2.840.10008.5.1.4.1.1.66.7',
  /** Our SR (no SCOORD3D, so not Enhanced or 3D SR). */
  ComprehensiveSR: '1.2.840.10008.5.1.4.1.1.88.33',
} as const;
