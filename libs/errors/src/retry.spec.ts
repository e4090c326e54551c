import { describe, expect, it } from 'vitest';
import { backoffDelay, sleep, validateRetryPolicy, withRetry } from './retry.js';
import { PermanentError, TransientError } from './triage-error.js';

const policy = { attempts: 4, initialDelayMs: 1, maxDelayMs: 4 };

describe('withRetry', () => {
  it('retries transient failures with growing, capped delays, then succeeds', async () => {
    const delays: number[] = [];
    let calls = 0;
    const result = await withRetry(
      async () => {
        if (++calls < 4) throw new TransientError('busy');
        return 'ok';
      },
      policy,
      { onRetry: (_error, _attempt, delayMs) => delays.push(delayMs), random: () => 0.999 },
    );
    expect(result).toBe('ok');
    expect(delays).toEqual([1, 2, 4]);
  });

  it('gives up after the last attempt with the transient error', async () => {
    let calls = 0;
    const run = withRetry(async () => {
      calls++;
      throw new TransientError('still down');
    }, policy);
    await expect(run).rejects.toMatchObject({ code: 'RETRIES_EXHAUSTED', message: 'still down' });
    expect(calls).toBe(4);
  });

  it('does not retry a permanent error', async () => {
    let calls = 0;
    const run = withRetry(async () => {
      calls++;
      throw new PermanentError('NO_USABLE_SERIES', 'no CT');
    }, policy);
    await expect(run).rejects.toBeInstanceOf(PermanentError);
    expect(calls).toBe(1);
  });

  it('stops waiting when the signal aborts', async () => {
    const controller = new AbortController();
    const run = withRetry(
      async () => {
        throw new TransientError('down');
      },
      { attempts: 5, initialDelayMs: 60_000, maxDelayMs: 60_000 },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(new Error('shutdown')), 10);
    await expect(run).rejects.toThrow('shutdown');
  });
});

describe('retry policy', () => {
  const p = { attempts: 5, initialDelayMs: 100, maxDelayMs: 1_000 };

  it('doubles the ceiling per attempt, caps it, and jitters within its upper half', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(p, n, () => 0))).toEqual([50, 100, 200, 400, 500]);
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(p, n, () => 1))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffDelay(p, 3, () => 0.5)).toBe(300);
  });

  it('validates the policy', () => {
    expect(() => validateRetryPolicy({ ...p, attempts: 0 })).toThrow(RangeError);
    expect(() => validateRetryPolicy({ ...p, maxDelayMs: 10 })).toThrow(RangeError);
    expect(validateRetryPolicy(p)).toEqual(p);
  });

  it('sleeps until aborted, rejecting with the reason', async () => {
    const controller = new AbortController();
    const pause = sleep(10_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(pause).rejects.toThrow('stop');
    await expect(sleep(0, AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
  });
});
