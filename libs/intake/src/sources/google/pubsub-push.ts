import type { InstanceNotification } from '../../notification.js';
import type { PushedNotificationSource, SourceReport } from '../../ports.js';
import type { PushEndpoint, PushRequest, PushResponse } from '../push-endpoint.js';
import { dicomStoreMessage } from './dicom-store-message.js';

/**
 * Google Cloud Healthcare through a Pub/Sub push subscription: Pub/Sub POSTs
 * {"message": {"data": base64, "attributes", "messageId", "publishTime"}, "subscription"}
 * (https://cloud.google.com/pubsub/docs/push#receive_push) and takes a 2xx as the ack, anything
 * else as a nack (redelivered with backoff; the dead-letter policy applies). 204 is answered once
 * the notification is durable; a body that is not such a message gets 400; another store's, 204.
 */
export class PubSubPushSource implements PushedNotificationSource {
  readonly kind = 'pushed';
  readonly name = 'google-pubsub-push';

  constructor(
    private readonly options: { store: string; dicomStore: string; endpoint: PushEndpoint; report: SourceReport },
  ) {}

  run(
    accept: (notifications: InstanceNotification[]) => Promise<void>,
    signal: AbortSignal,
    reachable: () => void,
  ): Promise<void> {
    return this.options.endpoint.serve(async (request) => {
      reachable();
      return this.handle(request, accept);
    }, signal);
  }

  private async handle(
    request: PushRequest,
    accept: (notifications: InstanceNotification[]) => Promise<void>,
  ): Promise<PushResponse> {
    const { report } = this.options;
    if (request.method !== 'POST') return { status: 405 };
    const message = pushedMessage(request.body);
    if (typeof message === 'string') {
      report.malformed(message);
      return { status: 400 };
    }
    const parsed = dicomStoreMessage(message.data, this.options);
    const fields = { messageId: message.messageId };
    if (parsed.kind === 'malformed') {
      report.malformed(parsed.reason, fields);
      return { status: 400 };
    }
    if (parsed.kind === 'foreign-store') {
      report.skipped('unknown-store', { ...fields, dicomStore: parsed.dicomStore });
      return { status: 204 };
    }
    try {
      await accept([parsed.notification]);
      return { status: 204 };
    } catch {
      return { status: 503 }; // not durable: Pub/Sub delivers it again
    }
  }
}

function pushedMessage(body: Buffer): { data: Buffer; messageId?: string } | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return 'push body is not JSON';
  }
  const message = (parsed as { message?: { data?: unknown; messageId?: unknown } } | null)?.message;
  if (typeof message?.data !== 'string') return 'push body has no message.data';
  return {
    data: Buffer.from(message.data, 'base64'),
    ...(typeof message.messageId === 'string' ? { messageId: message.messageId } : {}),
  };
}
