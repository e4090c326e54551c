import type { InstanceNotification } from '../../notification.js';
import type { PushedNotificationSource, SourceReport } from '../../ports.js';
import type { PushEndpoint, PushRequest, PushResponse } from '../push-endpoint.js';
import { dicomEvent, type DicomEventsConfig } from './dicom-events.js';

/**
 * The Azure DICOM service's events through an Event Grid webhook subscription, Event Grid or
 * CloudEvents 1.0 schema:
 * - Event Grid's validation handshake: a SubscriptionValidationEvent is answered with its
 *   validationCode (https://learn.microsoft.com/azure/event-grid/webhook-event-delivery);
 * - CloudEvents' abuse protection: OPTIONS with WebHook-Request-Origin is answered with
 *   WebHook-Allowed-Origin (CloudEvents HTTP webhook spec §4, as Event Grid sends it);
 * - events: 200 once every notification of the delivery is durable; 503 when not (Event Grid
 *   retries); a malformed event: the good ones are accepted, then 400, which Event Grid does not
 *   retry but dead-letters (configure a dead-letter destination: nothing is lost).
 */
export class EventGridWebhookSource implements PushedNotificationSource {
  readonly kind = 'pushed';
  readonly name = 'azure-event-grid';

  constructor(private readonly options: DicomEventsConfig & { endpoint: PushEndpoint; report: SourceReport }) {}

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
    if (request.method === 'OPTIONS') {
      const origin = request.headers['webhook-request-origin'];
      if (typeof origin !== 'string') return { status: 400 };
      return { status: 200, headers: { 'WebHook-Allowed-Origin': origin, 'WebHook-Allowed-Rate': '*' } };
    }
    if (request.method !== 'POST') return { status: 405 };
    let body: unknown;
    try {
      body = JSON.parse(request.body.toString('utf8'));
    } catch {
      report.malformed('delivery is not JSON');
      return { status: 400 };
    }
    // Event Grid schema and CloudEvents batches are arrays; a single CloudEvent is an object.
    const events = Array.isArray(body) ? (body as unknown[]) : [body];
    const notifications: InstanceNotification[] = [];
    let malformed = false;
    for (const event of events) {
      const parsed = dicomEvent(event, this.options);
      if (parsed.kind === 'validation') return { status: 200, body: { validationResponse: parsed.validationCode } };
      if (parsed.kind === 'notification') notifications.push(parsed.notification);
      else if (parsed.kind === 'skipped') report.skipped(parsed.reason, { eventId: parsed.id });
      else {
        malformed = true;
        report.malformed(parsed.reason, parsed.id ? { eventId: parsed.id } : {});
      }
    }
    try {
      if (notifications.length > 0) await accept(notifications);
    } catch {
      return { status: 503 }; // not durable: Event Grid delivers it again
    }
    return { status: malformed ? 400 : 200 };
  }
}
