import { describe, expect, it } from 'vitest';
import { backoffDelay, parseRetryAfter, sleep, validateRetryPolicy } from './retry.js';

describe('retry policy', () => {
  const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1_000 };

  it('doubles the ceiling per attempt, caps it, and jitters within its upper half', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(policy, n, () => 0))).toEqual([50, 100, 200, 400, 500]);
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(policy, n, () => 1))).toEqual([100, 200, 400, 800, 1000]);
  });

  it('validates the policy', () => {
    expect(() => validateRetryPolicy({ ...policy, maxAttempts: 0 })).toThrow(RangeError);
    expect(() => validateRetryPolicy({ ...policy, maxDelayMs: 10 })).toThrow(RangeError);
    expect(validateRetryPolicy(policy)).toEqual(policy);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('sleeps until aborted, rejecting with the reason', async () => {
    const controller = new AbortController();
    const pause = sleep(10_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(pause).rejects.toThrow('stop');
    await expect(sleep(0, AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
  });
});
