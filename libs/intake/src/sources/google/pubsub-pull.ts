import type { Message, Subscription } from '@google-cloud/pubsub';
import { TransientError } from '@app/errors';
import type { InstanceNotification } from '../../notification.js';
import type { PushedNotificationSource, SourceReport } from '../../ports.js';
import { dicomStoreMessage } from './dicom-store-message.js';

/**
 * Google Cloud Healthcare API through a Pub/Sub pull subscription (@google-cloud/pubsub's
 * streaming pull). A message is acked once its notification is durable, nacked when it could not
 * be made durable (redelivered at once). One that is not a DICOM instance's resource name is
 * reported and nacked: the subscription's dead-letter policy (max delivery attempts) moves it
 * aside, nothing is lost. A message for another DICOM store is reported and acked. The
 * streaming pull reconnects by itself and reports nothing when the subscription is gone or Pub/Sub
 * is down (seen with the emulator: a deleted subscription, no error in 45 s), so the subscription
 * is looked up every probe interval: a failing lookup ends the run with a TransientError (the
 * intake logs it, counts it, says so in readiness and runs the source again after a pause).
 */

export interface PubSubPullOptions {
  store: string;
  /** projects/{p}/locations/{l}/datasets/{d}/dicomStores/{s} */
  dicomStore: string;
  /** Built by the module (project, subscription name, flow control, credentials). */
  subscription: Subscription;
  report: SourceReport;
  /** How often the subscription is looked up (GetSubscription); default 30 s. */
  probeIntervalMs?: number;
}

/** The subscriber library retries a failing stream by itself and never says so; a lookup does. */
const DEFAULT_PROBE_INTERVAL_MS = 30_000;
const PROBE_TIMEOUT_MS = 10_000;

export class PubSubPullSource implements PushedNotificationSource {
  readonly kind = 'pushed';
  readonly name = 'google-pubsub';

  constructor(private readonly options: PubSubPullOptions) {}

  run(
    accept: (notifications: InstanceNotification[]) => Promise<void>,
    signal: AbortSignal,
    reachable: () => void,
  ): Promise<void> {
    const { subscription } = this.options;
    return new Promise<void>((resolve, reject) => {
      const onMessage = (message: Message) => {
        reachable();
        const notifications = this.notificationsOf(message);
        if (notifications === undefined) return message.nack();
        accept(notifications).then(
          () => message.ack(),
          () => message.nack(),
        );
      };
      let finished = false;
      const finish = (error?: unknown) => {
        if (finished) return;
        finished = true;
        clearInterval(probe);
        subscription.off('message', onMessage);
        subscription.off('error', finish);
        signal.removeEventListener('abort', onAbort);
        // Closing flushes the acks already queued; messages not acked are delivered again.
        void subscription.close().then(
          () => (error === undefined ? resolve() : reject(pubsubFailure(error))),
          () => (error === undefined ? resolve() : reject(pubsubFailure(error))),
        );
      };
      const onAbort = () => finish();
      const probe = setInterval(() => {
        subscription.getMetadata({ timeout: PROBE_TIMEOUT_MS }).then(
          () => reachable(),
          (error: unknown) => finish(error),
        );
      }, this.options.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS);
      subscription.on('message', onMessage);
      subscription.on('error', finish);
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) finish();
      else if (!subscription.isOpen) subscription.open();
    });
  }

  /** [] to ack without a notification, undefined to nack (dead-letter policy). */
  private notificationsOf(message: Message): InstanceNotification[] | undefined {
    const parsed = dicomStoreMessage(message.data, this.options);
    const fields = { messageId: message.id, deliveryAttempt: message.deliveryAttempt };
    switch (parsed.kind) {
      case 'notification':
        return [parsed.notification];
      case 'foreign-store':
        this.options.report.skipped('unknown-store', { ...fields, dicomStore: parsed.dicomStore });
        return [];
      case 'malformed':
        this.options.report.malformed(parsed.reason, fields);
        return undefined;
    }
  }
}

function pubsubFailure(error: unknown): TransientError {
  const code = (error as { code?: unknown }).code; // a gRPC status code

  const details = error instanceof Error ? error.message.split('\n')[0].slice(0, 160) : String(error);
  return new TransientError(
    `Pub/Sub subscription failed (${typeof code === 'number' ? `code ${code}: ` : ''}${details})`,
    {
      cause: error,
    },
  );
}
