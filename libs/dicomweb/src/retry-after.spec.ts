import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY, parseRetryAfter } from './retry-after.js';

describe('Retry-After', () => {
  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe('DEFAULT_RETRY', () => {
  it('is the per-request policy the docs state (3 attempts)', () => {
    expect(DEFAULT_RETRY.attempts).toBe(3);
  });
});
