import type { StudySource } from '@app/ingest';
import type { ConsumedMessage, DeadLetterReason, TriageCompleted, TriageFailed } from '@app/messaging';

/** Where the answers go (the Kafka publisher in production). */
export interface ResultPublisher {
  publishCompleted(event: TriageCompleted): Promise<void>;
  publishFailed(event: TriageFailed): Promise<void>;
  publishDeadLetter(original: ConsumedMessage, reason: DeadLetterReason): Promise<void>;
}

/** The study named by an event, in the configured archive; `signal` aborts its requests. */
export type StudySources = (studyInstanceUid: string, signal: AbortSignal) => StudySource;

/** The servers a study needs, probed when its retries run out: an outage is waited out, not parked. */
export interface DependencyHealth {
  /** The names of those that do not answer their health probe now (e.g. ['FHIR server']). */
  unavailable(): Promise<string[]>;
}
