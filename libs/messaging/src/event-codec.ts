import { create, fromJsonString, toJsonString, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { isDicomUid } from '@app/dicom';
import { PermanentError, TooLargeError } from '@app/errors';
import {
  StudyAvailableSchema,
  TriageCompletedSchema,
  TriageFailedSchema,
  type StudyAvailable,
} from './generated/covidtriage/events/v1/events_pb.js';

/**
 * Events travel on Kafka as proto3 canonical JSON (UTF-8). Unknown fields are
 * ignored when reading, so a producer may add fields within v1 without breaking
 * older workers. A header names the schema so a consumer can tell events apart.
 */
export const EVENT_TYPE_HEADER = 'event-type';
export const CONTENT_TYPE_HEADER = 'content-type';
export const EVENT_CONTENT_TYPE = 'application/json';

/** The message pattern StudyAvailable handlers register with @EventPattern (its schema's name). */
export const STUDY_AVAILABLE = StudyAvailableSchema.typeName;

/** The event could not be read: not JSON, not the schema, or a required field missing. Never retried. */
export class MalformedEventError extends PermanentError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MALFORMED_EVENT', message, options);
  }
}

export interface EncodedEvent {
  value: Buffer;
  headers: Record<string, string>;
}

export function encodeEvent<Desc extends DescMessage>(schema: Desc, event: MessageShape<Desc>): EncodedEvent {
  return {
    value: Buffer.from(toJsonString(schema, event), 'utf8'),
    headers: {
      [EVENT_TYPE_HEADER]: schema.typeName,
      [CONTENT_TYPE_HEADER]: EVENT_CONTENT_TYPE,
    },
  };
}

export function decodeEvent<Desc extends DescMessage>(schema: Desc, value: Buffer | string | null): MessageShape<Desc> {
  if (value === null || value.length === 0) throw new MalformedEventError(`empty ${schema.name} message`);
  const text = typeof value === 'string' ? value : value.toString('utf8');
  try {
    return fromJsonString(schema, text, { ignoreUnknownFields: true });
  } catch (error) {
    // The parser's message names the field but never echoes values, so it is safe to log.
    throw new MalformedEventError(`not a valid ${schema.name} JSON message: ${String(error)}`, {
      cause: error,
    });
  }
}

/**
 * A message labelled as another event type (a v2 producer, a topic mix-up) is refused rather
 * than read as this one; an unlabelled message is read on its body alone.
 */
export function checkEventType(headers: Readonly<Record<string, string>>, schema: DescMessage): void {
  const labelled = headers[EVENT_TYPE_HEADER];
  if (labelled !== undefined && labelled !== schema.typeName) {
    throw new MalformedEventError(
      `the ${EVENT_TYPE_HEADER} header says ${JSON.stringify(labelled.slice(0, 100))}, not ${schema.typeName}`,
    );
  }
}

/** A StudyAvailable is a few hundred bytes; even one naming a thousand series stays under this. */
export const MAX_EVENT_BYTES = 256 * 1024;

/** Reads a StudyAvailable and checks the fields the worker cannot do without. */
export function decodeStudyAvailable(value: Buffer | string | null): StudyAvailable {
  if (value !== null && Buffer.byteLength(value) > MAX_EVENT_BYTES)
    throw new TooLargeError('the event', MAX_EVENT_BYTES);
  const event = decodeEvent(StudyAvailableSchema, value);
  if (!event.eventId) throw new MalformedEventError('StudyAvailable.eventId is missing');
  if (!isDicomUid(event.studyInstanceUid)) {
    throw new MalformedEventError('StudyAvailable.studyInstanceUid is missing or not a DICOM UID');
  }
  const badSeries = event.seriesInstanceUids.find((uid) => !isDicomUid(uid));
  if (badSeries !== undefined) throw new MalformedEventError('StudyAvailable.seriesInstanceUids holds a non-UID value');
  return event;
}

export type StudyAvailableInit = Pick<StudyAvailable, 'studyInstanceUid'> &
  Partial<Pick<StudyAvailable, 'eventId' | 'dicomwebBaseUrl' | 'source' | 'seriesInstanceUids' | 'studyVersion'>> & {
    occurredAt?: Date;
  };

export function newStudyAvailable(init: StudyAvailableInit): StudyAvailable {
  return create(StudyAvailableSchema, {
    eventId: init.eventId ?? crypto.randomUUID(),
    studyInstanceUid: init.studyInstanceUid,
    dicomwebBaseUrl: init.dicomwebBaseUrl ?? '',
    source: init.source ?? 'manual',
    seriesInstanceUids: init.seriesInstanceUids ?? [],
    studyVersion: init.studyVersion ?? 0,
    occurredAt: timestampFromDate(init.occurredAt ?? new Date()),
  });
}

export { StudyAvailableSchema, TriageCompletedSchema, TriageFailedSchema };
