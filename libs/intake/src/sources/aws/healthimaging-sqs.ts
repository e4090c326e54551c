import { DeleteMessageCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { MedicalImagingClient } from '@aws-sdk/client-medical-imaging';
import { TransientError } from '@app/errors';
import type { InstanceNotification } from '../../notification.js';
import type { PushedNotificationSource, SourceReport } from '../../ports.js';
import { parseImageSetEvent, WATCHED_DETAIL_TYPES } from './eventbridge-event.js';
import { awsErrorName, imageSetStudy } from './image-set-studies.js';

/**
 * AWS HealthImaging through an SQS queue that an EventBridge rule (source aws.medical-imaging,
 * Image Set Created/Updated/Copied) fills. HealthImaging's events name an image set, not DICOM
 * UIDs, so each is looked up (GetImageSetMetadata) and becomes one series-level notification per
 * series of the set. A message is deleted only once its notifications are durable; one that is not
 * an image-set event stays, for the queue's redrive policy to move to its dead-letter queue.
 */

export interface HealthImagingSqsOptions {
  store: string;
  /** The data store this intake watches; an event for another one is counted as unknown-store. */
  datastoreId: string;
  queueUrl: string;
  sqs: SQSClient;
  imaging: MedicalImagingClient;
  report: SourceReport;
  /** Long polling: at most 20 s (SQS's limit). */
  waitTimeSeconds?: number;
}

export class HealthImagingSqsSource implements PushedNotificationSource {
  readonly kind = 'pushed';
  readonly name = 'aws-healthimaging-sqs';

  constructor(private readonly options: HealthImagingSqsOptions) {}

  async run(
    accept: (notifications: InstanceNotification[]) => Promise<void>,
    signal: AbortSignal,
    reachable: () => void,
  ): Promise<void> {
    const { sqs, queueUrl } = this.options;
    while (!signal.aborted) {
      let messages: Message[];
      try {
        const received = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: this.options.waitTimeSeconds ?? 20,
          }),
          { abortSignal: signal },
        );
        messages = received.Messages ?? [];
      } catch (error) {
        if (signal.aborted) return;
        throw new TransientError(`SQS ReceiveMessage failed (${awsErrorName(error)})`, { cause: error });
      }
      reachable();
      for (const message of messages) {
        const notifications = await this.notificationsOf(message, signal);
        if (notifications === undefined) continue; // left for redelivery or the dead-letter queue
        // Acknowledged (deleted) once durable; not awaited, so the next messages go on meanwhile.
        void accept(notifications).then(
          () => this.delete(message),
          () => undefined, // not durable: SQS delivers it again after its visibility timeout
        );
      }
    }
  }

  /** The notifications of one message, [] to drop it, undefined to leave it on the queue. */
  private async notificationsOf(message: Message, signal: AbortSignal): Promise<InstanceNotification[] | undefined> {
    const { report, store } = this.options;
    const event = parseImageSetEvent(message.Body);
    if (typeof event === 'string') {
      report.malformed(event, { messageId: message.MessageId });
      return undefined;
    }
    if (!WATCHED_DETAIL_TYPES.has(event.detailType)) {
      report.skipped('event type not watched', { messageId: message.MessageId, detailType: event.detailType });
      return [];
    }
    if (event.datastoreId !== this.options.datastoreId) {
      report.skipped('unknown-store', { messageId: message.MessageId, datastoreId: event.datastoreId });
      return [];
    }
    if (event.imageSetState !== undefined && event.imageSetState !== 'ACTIVE') {
      report.skipped('image set not active', { messageId: message.MessageId, imageSetState: event.imageSetState });
      return [];
    }
    // A HealthImaging failure throws: the message stays, the source is run again after a pause.
    const study = await imageSetStudy(this.options.imaging, event, signal);
    if (!study) {
      report.skipped('image set gone or without a study', {
        messageId: message.MessageId,
        imageSetId: event.imageSetId,
      });
      return [];
    }
    const { studyInstanceUid, seriesInstanceUids } = study;
    if (seriesInstanceUids.length === 0) return [{ store, level: 'study', studyInstanceUid }];
    return seriesInstanceUids.map((seriesInstanceUid) => ({
      store,
      level: 'series',
      studyInstanceUid,
      seriesInstanceUid,
    }));
  }

  private async delete(message: Message): Promise<void> {
    try {
      await this.options.sqs.send(
        new DeleteMessageCommand({ QueueUrl: this.options.queueUrl, ReceiptHandle: message.ReceiptHandle }),
      );
    } catch (error) {
      // Delivered again later: the notifications repeat, which the completion rules absorb.
      this.options.report.warn('SQS DeleteMessage failed; the message will be delivered again', {
        messageId: message.MessageId,
        error: awsErrorName(error),
      });
    }
  }
}
