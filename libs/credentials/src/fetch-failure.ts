/**
 * Why a fetch failed, as a code safe to log: the innermost system or TLS error code
 * (ECONNREFUSED, UNABLE_TO_VERIFY_LEAF_SIGNATURE, …), TimeoutError, or "fetch failed".
 * Never the message of the cause, which may quote a URL or a header.
 */
export function fetchFailureCode(error: unknown): string {
  let found: string | undefined;
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') found = code;
    current = (current as { cause?: unknown }).cause;
  }
  if (found) return found;
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return error.name;
  return 'fetch failed';
}
