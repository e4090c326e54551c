import { setTimeout as delay } from 'node:timers/promises';
import { TransientError } from './triage-error.js';

/**
 * The one retry vocabulary: how often and how patiently to repeat work that failed
 * with a TransientError. Two layers use it, nested: the worker repeats a whole study
 * (WORKER_RETRY_*, default 5 attempts) and the DICOMweb client repeats each request
 * inside it (3 attempts), so one request is sent at most 5 × 3 = 15 times before the
 * study is parked.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** The pause after the first failure; it doubles after each further one. */
  initialDelayMs: number;
  /** The ceiling of any pause. */
  maxDelayMs: number;
}

export function validateRetryPolicy(policy: RetryPolicy): RetryPolicy {
  const { attempts, initialDelayMs, maxDelayMs } = policy;
  if (!Number.isInteger(attempts) || attempts < 1) throw new RangeError('retry attempts must be an integer ≥ 1');
  if (!(initialDelayMs >= 0) || !(maxDelayMs >= initialDelayMs)) {
    throw new RangeError('retry delays must satisfy 0 ≤ initialDelayMs ≤ maxDelayMs');
  }
  return { attempts, initialDelayMs, maxDelayMs };
}

/**
 * The pause after failed attempt `attempt` (1-based): initial·2^(attempt-1), capped,
 * with "equal jitter" (half fixed, half random) so that workers that failed together
 * do not retry together, yet never retry immediately.
 */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Waits, or rejects with the signal's reason as soon as it aborts. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) {
    signal?.throwIfAborted();
    return;
  }
  try {
    await delay(ms, undefined, signal ? { signal } : undefined);
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw error;
  }
}

export interface RetryObserver {
  onRetry?: (error: TransientError, attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
  /** For tests: a random number in [0, 1). */
  random?: () => number;
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
      const delayMs = backoffDelay(policy, attempt, observer.random);
      observer.onRetry?.(error, attempt, delayMs);
      await sleep(delayMs, observer.signal);
    }
  }
}
