/**
 * The pipeline's ports: what it needs from the outside world, as small interfaces.
 * The worker plugs in DICOMweb STOW and a FHIR server; the CLI plugs in files.
 * Vendor types (fetch, fhir-kit-client, node:fs) stay inside the adapters.
 */

/** One DICOM object the pipeline produced, ready to store. */
export interface EncodedDicomObject {
  /** What it is, for file names and logs. */
  kind: 'SEG' | 'SR';
  /** The Part 10 file. */
  bytes: Uint8Array;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sopClassUid: string;
}

/** What the archive (or folder) did with each object, in the order given. */
export interface ArchiveReceipt {
  objects: { sopInstanceUid: string; location: string; duplicate: boolean }[];
}

/** Stores our SEG and SR. Storing an object that is already there is a success (duplicate: true). */
export interface ArchiveWriter {
  /** Where the objects go, for logs (no credentials). */
  readonly label: string;
  store(objects: readonly EncodedDicomObject[], options?: { signal?: AbortSignal }): Promise<ArchiveReceipt>;
}

/** What the report writer stored: a server reference or a file path. */
export interface ReportReceipt {
  /** E.g. "DiagnosticReport/123", or the file the bundle was written to. */
  diagnosticReport: string;
  /** False when the report already existed (a re-send). */
  created: boolean;
  /** Every resource written, "<type>/<id>" (or file locations). */
  references: string[];
}

/** Writes the FHIR transaction Bundle of one result. Writing the same bundle twice stores it once. */
export interface ReportWriter {
  readonly label: string;
  write(bundle: fhir4.Bundle, options?: { signal?: AbortSignal }): Promise<ReportReceipt>;
}
