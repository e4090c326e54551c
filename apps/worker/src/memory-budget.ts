import { PermanentError } from '@app/errors';
import type { SeriesFootprint } from '@app/pipeline';

/**
 * Bytes one voxel of the source grid may cost while a study is processed: the HU volume,
 * three 0/1 masks, the probabilities mapped back, the SEG frames and decoding buffers.
 * Conservative: `npm run bench:memory` measured 7-11 bytes per voxel on a warm worker, beyond the process's own
 * memory (idle ~230 MB, plus ~360 MB the model runtime keeps after its first inference), which
 * lies outside the budget (docs/reliability.md, Memory). A 600-slice 512 × 512 study is
 * estimated at 3600 MB and used 1604 MB.
 */
export const BYTES_PER_VOXEL = 24;

/**
 * Memory-aware backpressure: the studies in flight together reserve at most the budget;
 * a study that does not fit waits (its Kafka heartbeat keeps going) until others finish.
 * A study larger than the whole budget is refused instead of taking the process down.
 */
export class MemoryBudget {
  private usedMb = 0;
  private readonly waiting: { needMb: number; admit: () => void }[] = [];

  constructor(
    readonly budgetMb: number,
    private readonly bytesPerVoxel = BYTES_PER_VOXEL,
  ) {}

  get inUseMb(): number {
    return this.usedMb;
  }

  estimateMb(footprint: SeriesFootprint): number {
    return Math.ceil((footprint.voxels * this.bytesPerVoxel) / 2 ** 20);
  }

  async reserve(footprint: SeriesFootprint, signal?: AbortSignal): Promise<() => void> {
    const needMb = this.estimateMb(footprint);
    if (needMb > this.budgetMb) {
      throw new PermanentError(
        'TOO_LARGE',
        `series ${footprint.seriesInstanceUid} (${footprint.voxels} voxels) needs about ${needMb} MB, more than WORKER_MEMORY_BUDGET_MB=${this.budgetMb}`,
      );
    }
    if (this.waiting.length > 0 || this.usedMb + needMb > this.budgetMb) {
      // Resolved by admitWaiting(), which has already counted the reservation.
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          const index = this.waiting.indexOf(entry);
          if (index < 0) return;
          this.waiting.splice(index, 1);
          reject(signal!.reason as Error);
        };
        const entry = {
          needMb,
          admit: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
        };
        this.waiting.push(entry);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    } else {
      this.usedMb += needMb;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.usedMb -= needMb;
      this.admitWaiting();
    };
  }

  /** First come, first served: a large study at the head is not starved by small ones. */
  private admitWaiting(): void {
    while (this.waiting.length > 0 && this.usedMb + this.waiting[0].needMb <= this.budgetMb) {
      const next = this.waiting.shift()!;
      this.usedMb += next.needMb;
      next.admit();
    }
  }
}
