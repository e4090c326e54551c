export { asTriageError, PermanentError, TransientError, TriageError } from './triage-error.js';
export type { FailureCode } from './triage-error.js';
