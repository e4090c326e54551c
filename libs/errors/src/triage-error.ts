/**
 * The error taxonomy every library speaks. The worker decides what to do with a
 * failure from its kind alone: a transient error is retried with backoff, a
 * permanent one is reported (TriageFailed) and parked (dead-letter record).
 */

/** Stable, machine-readable reason codes; mirrored by the FailureReason enum of the events. */
export type FailureCode =
  | 'MALFORMED_EVENT'
  | 'STUDY_NOT_FOUND'
  | 'NO_USABLE_SERIES'
  | 'CORRUPT_INSTANCE'
  | 'INVALID_GEOMETRY'
  | 'NO_LUNGS_FOUND'
  | 'RETRIES_EXHAUSTED'
  | 'TOO_LARGE'
  | 'WORKER_DIED'
  | 'DEADLINE_EXCEEDED'
  | 'INTERNAL';

export abstract class TriageError extends Error {
  abstract readonly transient: boolean;

  constructor(
    readonly code: FailureCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Worth retrying: the network, a 429/5xx, an unavailable broker. */
export class TransientError extends TriageError {
  readonly transient = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super('RETRIES_EXHAUSTED', message, options);
  }
}

/**
 * A server refused our credentials (401), their rights (403), or a token endpoint refused the
 * client. Transient on purpose: an expired secret or a revoked client is fixed by an operator,
 * and the study waits for that instead of being parked. Messages hold a status and a short
 * reason code, never the server's own text.
 */
export class AccessRefusedError extends TransientError {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Retrying cannot help: the input is wrong, or the study cannot be triaged. */
export class PermanentError extends TriageError {
  readonly transient = false;
}

/** An input exceeds a safety limit (an event, a response, an instance, a decompressed dataset). */
export class TooLargeError extends PermanentError {
  constructor(what: string, limitBytes: number) {
    super('TOO_LARGE', `${what} exceeds the limit of ${formatBytes(limitBytes)}`);
  }
}

function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} bytes`;
}

/** Classifies anything thrown: our own errors keep their kind, the rest is a permanent internal error. */
export function asTriageError(error: unknown): TriageError {
  if (error instanceof TriageError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new PermanentError('INTERNAL', message, { cause: error });
}
