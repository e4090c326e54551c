import { TransientError } from '@app/errors';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export interface RetryObserver {
  onRetry?: (error: TransientError, attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
  /** For tests: a random number in [0, 1). */
  random?: () => number;
}

/** Exponential backoff with "equal jitter": half fixed, half random, capped. */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Runs `work` until it succeeds, throws anything but a TransientError, or has failed
 * `policy.attempts` times: then the last TransientError is thrown. Never loops forever.
 * The pause between attempts ends early when the signal aborts (its reason is thrown).
 */
export async function withRetry<T>(
  work: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  observer: RetryObserver = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (error) {
      if (!(error instanceof TransientError) || attempt >= policy.attempts) throw error;
      observer.signal?.throwIfAborted();
      const delayMs = backoffDelay(attempt, policy, observer.random);
      observer.onRetry?.(error, attempt, delayMs);
      await sleep(delayMs, observer.signal);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
