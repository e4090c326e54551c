export { backoffDelay, sleep, validateRetryPolicy, withRetry } from './retry.js';
export type { RetryObserver, RetryPolicy } from './retry.js';
export {
  AccessRefusedError,
  asTriageError,
  PermanentError,
  TooLargeError,
  TransientError,
  TriageError,
} from './triage-error.js';
export type { FailureCode } from './triage-error.js';
