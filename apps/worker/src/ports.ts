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
