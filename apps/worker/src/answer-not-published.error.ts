/**
 * The study is written back (SEG, SR, report) but the broker refused its TriageCompleted (the
 * result topic is missing, an ACL, the broker is down). Not a failure of the study: the message
 * is fetched again after a pause (readiness fails meanwhile) and answered from the stored
 * report, never parked with a TriageFailed that would contradict what was written.
 */
export class AnswerNotPublishedError extends Error {
  constructor(cause: unknown) {
    super(`TriageCompleted could not be published: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = 'AnswerNotPublishedError';
  }
}
