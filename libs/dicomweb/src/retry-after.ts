import type { RetryPolicy } from '@app/errors';

/** Per request, nested inside the worker's attempts per study (see RetryPolicy in @app/errors). */
export const DEFAULT_RETRY: Readonly<RetryPolicy> = Object.freeze({
  attempts: 3,
  initialDelayMs: 500,
  maxDelayMs: 8_000,
});

/** Retry-After (RFC 9110 §10.2.3) in milliseconds: delay-seconds or an HTTP-date; undefined when absent or invalid. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
