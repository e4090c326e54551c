export { DicomwebStudySource, parseStudyUrl } from './dicomweb-study-source.js';
export { FolderStudySource } from './folder-study-source.js';
export { DEFAULT_INGEST_OPTIONS, ingestStudy } from './ingest-study.js';
export type { IngestedStudy, IngestOptions } from './ingest-study.js';
export type { StudyInventory, StudySource, UnreadableInstance } from './study-source.js';
