import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  decodeEvent,
  decodeStudyAvailable,
  encodeEvent,
  EVENT_TYPE_HEADER,
  MalformedEventError,
  newStudyAvailable,
} from './event-codec.js';
import {
  FailureReason,
  StudyAvailableSchema,
  TriageFailedSchema,
} from './generated/covidtriage/events/v1/events_pb.js';

const STUDY = '1.2.826.0.1.3680043.8.498.1';

describe('event codec', () => {
  it('writes the canonical proto3 JSON documented in proto/README.md', () => {
    const event = newStudyAvailable({
      eventId: 'e-1',
      studyInstanceUid: STUDY,
      source: 'orthanc',
      occurredAt: new Date('2026-11-27T10:00:00Z'),
    });
    const encoded = encodeEvent(StudyAvailableSchema, event);
    expect(JSON.parse(encoded.value.toString('utf8'))).toEqual({
      eventId: 'e-1',
      studyInstanceUid: STUDY,
      source: 'orthanc',
      occurredAt: '2026-11-27T10:00:00Z',
    });
    expect(encoded.headers[EVENT_TYPE_HEADER]).toBe('covidtriage.events.v1.StudyAvailable');
  });

  it('round-trips and accepts snake_case and unknown fields from other producers', () => {
    const json = JSON.stringify({
      event_id: 'e-2',
      study_instance_uid: STUDY,
      series_instance_uids: ['1.2.3'],
      added_in_a_later_minor_version: true,
    });
    const event = decodeStudyAvailable(Buffer.from(json));
    expect(event.eventId).toBe('e-2');
    expect(event.seriesInstanceUids).toEqual(['1.2.3']);
  });

  it('writes enums by name', () => {
    const failed = create(TriageFailedSchema, {
      reason: FailureReason.NO_USABLE_SERIES,
      message: 'no axial CT',
    });
    const json = JSON.parse(encodeEvent(TriageFailedSchema, failed).value.toString());
    expect(json.reason).toBe('FAILURE_REASON_NO_USABLE_SERIES');
    expect(decodeEvent(TriageFailedSchema, JSON.stringify(json)).reason).toBe(FailureReason.NO_USABLE_SERIES);
  });

  it.each([
    ['empty', ''],
    ['not JSON', '{"eventId": '],
    ['a JSON array', '[]'],
    ['a wrong type', '{"eventId": "e", "studyInstanceUid": 12}'],
    ['no study UID', '{"eventId": "e"}'],
    ['a non-UID study', '{"eventId": "e", "studyInstanceUid": "1.2.abc"}'],
    ['a UID over 64 characters', `{"eventId": "e", "studyInstanceUid": "1.${'2'.repeat(64)}"}`],
    ['no event id', `{"studyInstanceUid": "${STUDY}"}`],
    ['a bad series hint', `{"eventId": "e", "studyInstanceUid": "${STUDY}", "seriesInstanceUids": ["x"]}`],
  ])('rejects %s as a permanent MALFORMED_EVENT', (_, text) => {
    let error: unknown;
    try {
      decodeStudyAvailable(Buffer.from(text));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(MalformedEventError);
    expect(error).toMatchObject({ code: 'MALFORMED_EVENT', transient: false });
  });

  it('rejects a null Kafka value (a tombstone)', () => {
    expect(() => decodeStudyAvailable(null)).toThrow(MalformedEventError);
  });

  it('refuses an oversized event with TOO_LARGE before parsing it', () => {
    const uid = '1.2.826.0.1.3680043.8.498.1';
    const padded = JSON.stringify({ eventId: 'e', studyInstanceUid: uid, source: 'x'.repeat(300 * 1024) });
    expect(() => decodeStudyAvailable(padded)).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
    expect(decodeStudyAvailable(JSON.stringify({ eventId: 'e', studyInstanceUid: uid })).studyInstanceUid).toBe(uid);
  });
});
