/**
 * The intake's bounded context: platform notifications in, one StudyAvailable per complete
 * study version out. The completion rules, their ports, the state record kept on the state
 * topic, and the sources (docs/intake.md).
 */
export { DicomwebSeriesIndex } from './dicomweb-series-index.js';
export { notificationProblem } from './notification.js';
export type { InstanceNotification } from './notification.js';
export { NO_METRICS } from './ports.js';
export type {
  ArchivedSeries,
  ForgetReason,
  IntakeMetrics,
  NotificationBatch,
  NotificationOutcome,
  NotificationSource,
  PolledNotificationSource,
  PublishReason,
  PushedNotificationSource,
  SourceReport,
  StudySeriesIndex,
} from './ports.js';
export { HealthImagingSqsSource } from './sources/aws/healthimaging-sqs.js';
export type { HealthImagingSqsOptions } from './sources/aws/healthimaging-sqs.js';
export { PubSubPullSource } from './sources/google/pubsub-pull.js';
export type { PubSubPullOptions } from './sources/google/pubsub-pull.js';
export { AzureChangeFeedSource } from './sources/azure/change-feed.js';
export type { ChangeFeedOptions } from './sources/azure/change-feed.js';
export { EventGridWebhookSource } from './sources/azure/event-grid-webhook.js';
export type { DicomEventsConfig } from './sources/azure/dicom-events.js';
export { PubSubPushSource } from './sources/google/pubsub-push.js';
export { DICOM_STORE_NAME } from './sources/google/dicom-store-message.js';
export { PushEndpoint } from './sources/push-endpoint.js';
export type { PushEndpointOptions } from './sources/push-endpoint.js';
export { OrthancChangesSource } from './sources/orthanc-changes.js';
export type { OrthancChangesOptions } from './sources/orthanc-changes.js';
export { QidoStudyPoller } from './sources/qido-study-poller.js';
export type { QidoStudyPollerOptions } from './sources/qido-study-poller.js';
export { StudyCompletion, versionEventId } from './study-completion.js';
export type { Announcement, CompletionLog, CompletionRules, StudyCompletionOptions } from './study-completion.js';
export { cursorKey, decodeStudyRecord, encodeStudyRecord, studyKey } from './study-record.js';
export type { PendingStudy, PublishedVersion, StudyRecord } from './study-record.js';
