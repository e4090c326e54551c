import { MedicalImagingClient } from '@aws-sdk/client-medical-imaging';
import { SQSClient } from '@aws-sdk/client-sqs';
import { PubSub } from '@google-cloud/pubsub';
import type { CloudSource, IntakeConfig, PushSettings } from '@app/config';
import { secretOf, type AuthProvider } from '@app/credentials';
import {
  AzureChangeFeedSource,
  EventGridWebhookSource,
  HealthImagingSqsSource,
  PubSubPullSource,
  PubSubPushSource,
  PushEndpoint,
  type IntakeMetrics,
  type NotificationSource,
  type SourceReport,
} from '@app/intake';
import type { JsonLogger } from '@app/service';

/**
 * The cloud platforms' sources with their clients: the SDK clients take their credentials from
 * the platform's default chain (Pub/Sub: Application Default Credentials, or the DICOMweb key
 * file when DICOMWEB_AUTH=google names one; SQS and HealthImaging: the AWS default provider chain).
 */
export function cloudSourceFor(
  source: CloudSource,
  config: IntakeConfig,
  dicomwebAuth: AuthProvider,
  logger: JsonLogger,
  metrics: IntakeMetrics,
): NotificationSource {
  const report = sourceReport(source.store, logger, metrics);
  switch (source.kind) {
    case 'google-pubsub': {
      const keyFile = config.dicomweb.auth.kind === 'google' ? config.dicomweb.auth.keyFile : undefined;
      const [, projectId] = source.subscription.split('/');
      const pubsub = new PubSub({ projectId, ...(keyFile ? { keyFilename: keyFile } : {}) });
      const subscription = pubsub.subscription(source.subscription, {
        flowControl: { maxMessages: source.maxMessages, allowExcessMessages: false },
      });
      return new PubSubPullSource({ store: source.store, dicomStore: source.dicomStore, subscription, report });
    }
    case 'google-pubsub-push':
      return new PubSubPushSource({
        store: source.store,
        dicomStore: source.dicomStore,
        endpoint: pushEndpoint('/pubsub', source.push),
        report,
      });
    case 'azure-change-feed':
      return new AzureChangeFeedSource({
        store: source.store,
        serviceUrl: config.dicomweb.baseUrl,
        auth: dicomwebAuth,
        report,
        limit: source.pageSize,
      });
    case 'azure-event-grid':
      return new EventGridWebhookSource({
        store: source.store,
        serviceHost: source.serviceHost,
        ...(source.partition === undefined ? {} : { partition: source.partition }),
        endpoint: pushEndpoint('/eventgrid', source.push),
        report,
      });
    case 'aws-healthimaging-sqs':
      return new HealthImagingSqsSource({
        store: source.store,
        datastoreId: source.datastoreId,
        queueUrl: source.queueUrl,
        sqs: new SQSClient({ region: source.region, ...(source.sqsEndpoint ? { endpoint: source.sqsEndpoint } : {}) }),
        imaging: new MedicalImagingClient({
          region: source.region,
          // An endpoint given is the runtime endpoint itself: the SDK must not prefix "runtime-" to it.
          ...(source.medicalImagingEndpoint
            ? { endpoint: source.medicalImagingEndpoint, disableHostPrefix: true }
            : {}),
        }),
        report,
      });
  }
}

/** The intake's own endpoint a platform pushes to, its token re-read when its file changes. */
function pushEndpoint(path: string, push: PushSettings): PushEndpoint {
  const setting = 'file' in push.token ? 'INTAKE_PUSH_TOKEN_FILE' : 'INTAKE_PUSH_TOKEN';
  return new PushEndpoint({ port: push.port, path, token: secretOf(push.token, setting) });
}

/** A source's unusable messages: one log line each and the notifications metric. */
function sourceReport(store: string, logger: JsonLogger, metrics: IntakeMetrics): SourceReport {
  return {
    malformed(reason, fields = {}) {
      metrics.notification(store, 'malformed');
      logger.write('warn', "notification malformed; left unacknowledged for the platform's dead-letter policy", {
        store,
        reason,
        ...fields,
      });
    },
    skipped(reason, fields = {}) {
      metrics.notification(store, reason === 'unknown-store' ? 'unknown-store' : 'skipped');
      logger.write(reason === 'unknown-store' ? 'warn' : 'info', 'notification skipped', { store, reason, ...fields });
    },
    warn(message, fields = {}) {
      logger.write('warn', message, { store, ...fields });
    },
  };
}
