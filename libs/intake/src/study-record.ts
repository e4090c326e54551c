/**
 * What the intake remembers of one study in one store, as kept in memory and written to the
 * state topic (JSON, keyed by studyKey). Times are epoch milliseconds of the wall clock, so they
 * mean the same after a restart.
 */
export interface StudyRecord {
  store: string;
  study: string;
  /** Notifications received and not yet published. */
  pending?: PendingStudy;
  /** The last version announced. */
  published?: PublishedVersion;
}

export interface PendingStudy {
  /** First notification of this version: the maximum wait and the abandon limit count from here. */
  firstAt: number;
  /** Last notification, or last re-check that found the study changed: the quiet period counts from here. */
  lastAt: number;
  /** Instance notifications per series UID since firstAt (0: only series- or study-level ones). */
  notified: Record<string, number>;
  /** Instance counts per source series at the last re-check that found a change; cleared by a notification. */
  checked?: Record<string, number>;
}

export interface PublishedVersion {
  version: number;
  /** The source series (not our own output) the version had, sorted. */
  series: string[];
  at: number;
}

export function studyKey(store: string, studyInstanceUid: string): string {
  return `study/${store}/${studyInstanceUid}`;
}

export function cursorKey(store: string): string {
  return `cursor/${store}`;
}

export function encodeStudyRecord(record: StudyRecord): Buffer {
  return Buffer.from(JSON.stringify(record), 'utf8');
}

/** A record written by this or an earlier intake; undefined when unreadable (logged by the caller). */
export function decodeStudyRecord(value: Buffer): StudyRecord | undefined {
  try {
    const parsed = JSON.parse(value.toString('utf8')) as Partial<StudyRecord>;
    if (typeof parsed.store !== 'string' || typeof parsed.study !== 'string') return undefined;
    return parsed as StudyRecord;
  } catch {
    return undefined;
  }
}
