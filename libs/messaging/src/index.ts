export {
  checkEventType,
  CONTENT_TYPE_HEADER,
  decodeEvent,
  decodeStudyAvailable,
  encodeEvent,
  EVENT_CONTENT_TYPE,
  EVENT_TYPE_HEADER,
  MalformedEventError,
  newStudyAvailable,
  STUDY_AVAILABLE,
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
export type {
  ConsumedMessage,
  ConsumerStatus,
  MessageContext,
  MessageDisposition,
  MessageHandler,
} from './kafka-consumer.js';
export { KafkaDeliveryContext } from './transport/kafka-delivery.context.js';
export { KafkaStudyTransport } from './transport/kafka-study.transport.js';
export type { KafkaStudyTransportOptions, MessageLoop } from './transport/kafka-study.transport.js';
export { DEAD_LETTER_HEADERS, KafkaEventPublisher } from './kafka-publisher.js';
export { IntakeStateTopic } from './intake-state-topic.js';
export type { IntakeStateTopicOptions, StateWrite } from './intake-state-topic.js';
export {
  authorizationRefusal,
  KafkaAccessError,
  kafkaAccessRefusal,
  kafkaPrincipal,
  probeKafkaAccess,
  workerAccessNeeds,
} from './kafka-access.js';
export type { KafkaRefusal } from './kafka-access.js';
export type { KafkaAccessNeeds, KafkaDenial, KafkaResourceSetting } from './kafka-authorization.js';
export { KafkaSettingsFileError, openKafkaConnection } from './kafka-connection.js';
export type { KafkaConnection } from './kafka-connection.js';
export type { KafkaLog } from './kafka-log.js';
export type { DeadLetterReason, KafkaPublisherOptions } from './kafka-publisher.js';
export { newTriageCompleted, newTriageFailed } from './result-events.js';
export type { DicomObjectInit, TriageCompletedInit, TriageFailedInit } from './result-events.js';
