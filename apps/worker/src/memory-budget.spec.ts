import { describe, expect, it } from 'vitest';
import { MemoryBudget } from './memory-budget.js';

const MB = 2 ** 20;
/** A series whose estimate is `mb` MB at 1 byte per voxel. */
const series = (mb: number) => ({ seriesInstanceUid: '1.2.3', voxels: mb * MB });

describe('MemoryBudget', () => {
  it('refuses a series larger than the whole budget, naming the setting', async () => {
    const budget = new MemoryBudget(100, 1);
    await expect(budget.reserve(series(101))).rejects.toMatchObject({ code: 'TOO_LARGE' });
    await expect(budget.reserve(series(101))).rejects.toThrow(/WORKER_MEMORY_BUDGET_MB=100/);
  });

  it('makes a study wait until enough memory is free, first come first served', async () => {
    const budget = new MemoryBudget(100, 1);
    const releaseA = await budget.reserve(series(70));
    const order: string[] = [];
    const b = budget.reserve(series(50)).then((release) => (order.push('b'), release));
    const c = budget.reserve(series(10)).then((release) => (order.push('c'), release));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(order).toEqual([]); // c would fit, but waits behind b
    releaseA();
    const [releaseB, releaseC] = await Promise.all([b, c]);
    expect(order).toEqual(['b', 'c']);
    expect(budget.inUseMb).toBe(60);
    releaseB();
    releaseB(); // twice is harmless
    releaseC();
    expect(budget.inUseMb).toBe(0);
  });

  it('lets a waiting study go when its signal aborts', async () => {
    const budget = new MemoryBudget(100, 1);
    const release = await budget.reserve(series(90));
    const controller = new AbortController();
    const waiting = budget.reserve(series(20), controller.signal);
    controller.abort(new Error('shutdown'));
    await expect(waiting).rejects.toThrow('shutdown');
    release();
    expect(budget.inUseMb).toBe(0);
  });
});
