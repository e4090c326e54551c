/**
 * DICOMweb client (QIDO-RS, WADO-RS, STOW-RS) on Node's native fetch, with a
 * streaming multipart/related parser. See docs/dicomweb-client.md.
 */
export { createDicomwebClient } from './client.js';
export type { DicomwebClient, RequestOptions, RetrieveOptions } from './client.js';
export type { DicomJsonDataset, DicomJsonElement } from './dicom-json.js';
export {
  DicomwebAccessRefusedError,
  DicomwebHttpError,
  DicomwebResponseError,
  DicomwebUnavailableError,
  isDicomwebError,
} from './errors.js';
export type { DicomwebError, DicomwebErrorDetails } from './errors.js';
export { isRetryableStatus } from './failures.js';
export {
  boundaryOf,
  buildMultipartRelated,
  MultipartError,
  parseMediaType,
  parseMultipartStream,
} from './multipart.js';
export type { BuiltMultipart, MediaType, MultipartInputPart, MultipartPart, ParseOptions } from './multipart.js';
export type { QidoQuery, QidoValue } from './query.js';
export { DEFAULT_RETRY } from './retry-after.js';
export { httpRuntimeProblem } from './runtime.js';
export { DUPLICATE_REASONS, identifyInstance } from './stow.js';
export type { FailedInstance, InstanceIdentity, StoredInstance, StoreResult } from './stow.js';
export type { DicomwebClientOptions, RetryEvent } from './transport.js';
