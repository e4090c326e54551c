/**
 * AWS HealthImaging's image-set events as EventBridge delivers them, and as an EventBridge rule
 * with an SQS target puts them in the message body (the event itself, no envelope):
 * https://docs.aws.amazon.com/healthimaging/latest/devguide/event-notifications.html
 * https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-medical-imaging.html
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html
 */
export interface ImageSetEvent {
  detailType: string;
  datastoreId: string;
  imageSetId: string;
  imageSetState?: string;
}

/** The image-set events that may add instances to a study; the rest (deleting, copying, failures) are skipped. */
export const WATCHED_DETAIL_TYPES = new Set(['Image Set Created', 'Image Set Updated', 'Image Set Copied']);

const ID = /^[0-9a-z]{32}$/;

/** The event, or why the body is not one (a string for logs). */
export function parseImageSetEvent(body: string | undefined): ImageSetEvent | string {
  let event: unknown;
  try {
    event = JSON.parse(body ?? '');
  } catch {
    return 'body is not JSON';
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return 'body is not a JSON object';
  const { source, detail } = event as { source?: unknown; detail?: unknown };
  const detailType = (event as Record<string, unknown>)['detail-type'];
  if (source !== 'aws.medical-imaging') return 'not an aws.medical-imaging event';
  if (typeof detailType !== 'string') return 'no detail-type';
  if (typeof detail !== 'object' || detail === null) return 'no detail';
  const fields = detail as Record<string, unknown>;
  // The devguide's example writes imagesetId; EventBridge's schema registry imageSetId: both are read.
  const imageSetId = fields['imagesetId'] ?? fields['imageSetId'];
  const datastoreId = fields['datastoreId'];
  if (typeof datastoreId !== 'string' || !ID.test(datastoreId)) return 'no datastoreId';
  if (!WATCHED_DETAIL_TYPES.has(detailType)) return { detailType, datastoreId, imageSetId: String(imageSetId) };
  if (typeof imageSetId !== 'string' || !ID.test(imageSetId)) return 'no imagesetId';
  const imageSetState = fields['imageSetState'];
  return { detailType, datastoreId, imageSetId, ...(typeof imageSetState === 'string' ? { imageSetState } : {}) };
}
