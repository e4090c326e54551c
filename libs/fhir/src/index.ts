/**
 * FHIR R4 output of the triage: a transaction Bundle (DiagnosticReport, Observations, Device,
 * Provenance, conditional Patient and ImagingStudy) and the client that submits it. See docs/fhir.md.
 */
export { COVID_TRIAGE_CODESYSTEM_ID, Concepts, LocalCodes, Systems, Units } from './codes.js';
export type { LocalCode } from './codes.js';
export {
  escapeSearchValue,
  fullUrlFor,
  identifierQuery,
  triageReportIdentifier,
  uuidV5,
  UUID_NAMESPACE,
} from './identifiers.js';
export { readStoredReport } from './stored-report.js';
export type { StoredTriageReport } from './stored-report.js';
export {
  classify as classifyFhirError,
  createFhirTransactionClient,
  fhirAccessRefused,
  FhirRejectedError,
  FhirUnavailableError,
  referenceOf,
} from './transaction-client.js';
export type {
  FhirEntryResult,
  FhirTransactionClient,
  FhirTransactionClientOptions,
  FhirSubmitResult,
} from './transaction-client.js';
export { buildTriageBundle, DEFAULT_CONCLUSION_THRESHOLD, NOT_FOR_CLINICAL_USE } from './triage-bundle.js';
export type { TriageBundleInput } from './triage-bundle.js';
