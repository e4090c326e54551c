import { describe, expect, it } from 'vitest';
import { deterministicUid, isDicomUid, newUid } from './uid.js';

const UID = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/;

describe('UIDs', () => {
  it('are valid DICOM UIDs of at most 64 characters', () => {
    for (const uid of [newUid(), deterministicUid('a'), deterministicUid('1.2.3', 'model', '1.0.0', 'SEG')]) {
      expect(uid).toMatch(UID);
      expect(uid.length).toBeLessThanOrEqual(64);
      expect(uid.startsWith('2.25.')).toBe(true);
    }
  });

  it('derive the same UID from the same inputs, and different ones otherwise', () => {
    expect(deterministicUid('1.2.3', 'model', '1.0.0', 'SEG')).toBe(deterministicUid('1.2.3', 'model', '1.0.0', 'SEG'));
    expect(deterministicUid('1.2.3', 'model', '1.0.0', 'SEG')).not.toBe(
      deterministicUid('1.2.3', 'model', '1.0.0', 'SR'),
    );
    // Parts are separated, so moving a boundary changes the UID.
    expect(deterministicUid('ab', 'c')).not.toBe(deterministicUid('a', 'bc'));
    expect(newUid()).not.toBe(newUid());
  });
});

describe('isDicomUid', () => {
  it.each(['1.2.3', '0.1', '2.25.329800735698586629295641978511506172918'])('accepts %s', (uid) => {
    expect(isDicomUid(uid)).toBe(true);
  });
  it.each(['', '1..2', '1.02', '1.2.', 'a.b', '5', `1.${'2'.repeat(63)}`])('refuses %s', (uid) => {
    expect(isDicomUid(uid)).toBe(false);
  });
});
