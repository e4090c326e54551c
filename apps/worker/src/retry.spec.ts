import { PermanentError, TransientError } from '@app/errors';
import { describe, expect, it } from 'vitest';
import { backoffDelay, withRetry } from './retry.js';

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

  it('keeps half of the delay fixed and caps it', () => {
    const p = { attempts: 10, initialDelayMs: 1000, maxDelayMs: 8000 };
    expect(backoffDelay(1, p, () => 0)).toBe(500);
    expect(backoffDelay(3, p, () => 0.5)).toBe(3000);
    expect(backoffDelay(9, p, () => 0)).toBe(4000);
  });
});
