/**
 * One DICOM object, as everything after the encoders knows it: the SR's evidence, the
 * archive, the FHIR report, the outcome and the events. The one shape of "series UID +
 * SOP UID + SOP class"; where less is needed, a Pick of it.
 */
export interface DicomObjectRef {
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sopClassUid: string;
}

/** An object an encoder produced (our SEG or SR), ready to store. */
export interface EncodedDicomObject extends DicomObjectRef {
  /** Its study: one STOW stores the objects of one study. */
  studyInstanceUid: string;
  /** What it is, its Modality ("SEG", "SR"): for file names and logs. */
  kind: 'SEG' | 'SR';
  /** The Part 10 file, Explicit VR Little Endian. */
  bytes: Buffer;
}

/** Just the reference of an object (e.g. an encoding without its bytes, so they are not kept). */
export function dicomObjectRef(object: DicomObjectRef): DicomObjectRef {
  return {
    seriesInstanceUid: object.seriesInstanceUid,
    sopInstanceUid: object.sopInstanceUid,
    sopClassUid: object.sopClassUid,
  };
}
