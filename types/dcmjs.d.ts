// The few dcmjs entry points the tests use to read our files back (dcmjs ships no types).
declare module 'dcmjs' {
  interface DicomDict {
    meta: Record<string, unknown>;
    dict: Record<string, unknown>;
  }
  export const data: {
    DicomMessage: { readFile(buffer: ArrayBuffer): DicomDict };
    DicomMetaDictionary: { naturalizeDataset(dataset: Record<string, unknown>): Record<string, unknown> };
  };
}
