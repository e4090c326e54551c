import type { EncodedDicomObject } from '@app/dicom';

/**
 * The pipeline's ports: what it needs from the outside world, as small interfaces. The
 * sinks are where results are sent: the worker plugs in DICOMweb STOW and a FHIR server;
 * the CLI plugs in files. Vendor types (fetch, fhir-kit-client, node:fs) stay inside the adapters.
 */

/** What the archive (or folder) did with each object, in the order given. */
export interface ArchiveReceipt {
  objects: { sopInstanceUid: string; location: string; duplicate: boolean }[];
}

/** Stores our SEG and SR. Storing an object that is already there is a success (duplicate: true). */
export interface ArchiveSink {
  /** Where the objects go, for logs (no credentials). */
  readonly label: string;
  store(objects: readonly EncodedDicomObject[], options?: { signal?: AbortSignal }): Promise<ArchiveReceipt>;
}

/** What the report sink stored: a server reference or a file path. */
export interface ReportReceipt {
  /** E.g. "DiagnosticReport/123", or the file the bundle was written to. */
  diagnosticReport: string;
  /** False when the report already existed (a re-send). */
  created: boolean;
  /** Every resource written, "<type>/<id>" (or file locations). */
  references: string[];
}

/** Writes the FHIR transaction Bundle of one result. Writing the same bundle twice stores it once. */
export interface ReportSink {
  readonly label: string;
  write(bundle: fhir4.Bundle, options?: { signal?: AbortSignal }): Promise<ReportReceipt>;
}
