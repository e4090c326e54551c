export {
  CONTENT_TYPE_HEADER,
  decodeEvent,
  decodeStudyAvailable,
  encodeEvent,
  EVENT_CONTENT_TYPE,
  EVENT_TYPE_HEADER,
  MalformedEventError,
  newStudyAvailable,
} from './event-codec.js';
export type { EncodedEvent, StudyAvailableInit } from './event-codec.js';
export {
  FailureReason,
  StudyAvailableSchema,
  TriageCompletedSchema,
  TriageFailedSchema,
  TriagePriority,
} from './generated/covidtriage/events/v1/events_pb.js';
export type {
  DicomObjectRef,
  LungMeasurement,
  ModelRef,
  StudyAvailable,
  TriageCompleted,
  TriageFailed,
} from './generated/covidtriage/events/v1/events_pb.js';
