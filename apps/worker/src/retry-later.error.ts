/**
 * Not a failure of the study, so never parked: the message stays uncommitted and is fetched
 * again after a growing pause, while readiness reports the partition as retrying.
 */
export abstract class RetryLaterError extends Error {}

/**
 * The study is written back (SEG, SR, report) but the broker refused its TriageCompleted (the
 * result topic is missing, an ACL, the broker is down). The next delivery answers it from the
 * stored report; a TriageFailed would contradict what was written.
 */
export class AnswerNotPublishedError extends RetryLaterError {
  constructor(cause: unknown) {
    super(`TriageCompleted could not be published: ${messageOf(cause)}`, { cause });
    this.name = 'AnswerNotPublishedError';
  }
}

/**
 * The study's retries ran out during an outage of the archive or the FHIR server (`unavailable`
 * names those whose health probe fails too; none when the probes answer again, the outage
 * having perhaps just ended): the study waits it out instead of ending as RETRIES_EXHAUSTED
 * with half of its write-back done.
 */
export class DependencyUnavailableError extends RetryLaterError {
  constructor(
    readonly unavailable: readonly string[],
    cause: unknown,
  ) {
    const who = unavailable.length > 0 ? `${unavailable.join(' and ')} unavailable` : 'servers answer again';
    super(`${who}: ${messageOf(cause)}`, { cause });
    this.name = 'DependencyUnavailableError';
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
