import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { decodeFrame } from './decode-frame.js';
import { CorruptPixelDataError, UnsupportedTransferSyntaxError } from './errors.js';
import type { PixelDescription, StoredPixels } from './pixel-description.js';
import { rescaleFrame, type Rescale, type RescaledFrame } from './rescale.js';

/**
 * Decoding dominates ingest (a 512² JPEG Lossless frame takes about 2 ms on one core),
 * so frames can be decoded on a pool of worker threads, one per core; the rescale to HU
 * and the frame's extremes are computed there too (decodeRescaled). Where the
 * compiled worker script is absent (running from TypeScript sources, as in unit
 * tests) or one thread is asked for, frames are decoded on the calling thread.
 */
export interface FrameDecoder {
  readonly threads: number;
  decode(transferSyntaxUid: string, frame: Uint8Array, pixel: PixelDescription): Promise<StoredPixels>;
  decodeRescaled(
    transferSyntaxUid: string,
    frame: Uint8Array,
    pixel: PixelDescription,
    rescale: Rescale,
  ): Promise<RescaledFrame>;
  close(): Promise<void>;
}

export interface DecodeRequest {
  id: number;
  transferSyntaxUid: string;
  frame: Uint8Array;
  pixel: PixelDescription;
  rescale?: Rescale;
}

export type DecodeReply =
  | { id: number; kind: string; buffer: ArrayBufferLike; min?: number; max?: number; error?: undefined }
  | { id: number; error: { unsupported: boolean; detail: string } };

const TYPED_ARRAYS: Record<string, new (buffer: ArrayBufferLike) => StoredPixels | Float32Array> = {
  Float32Array,
  Int8Array,
  Uint8Array,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
};

export const inThreadDecoder: FrameDecoder = {
  threads: 1,
  decode: decodeFrame,
  decodeRescaled: async (uid, frame, pixel, rescale) => rescaleFrame(await decodeFrame(uid, frame, pixel), rescale),
  close: async () => undefined,
};

const WORKER_SCRIPT = new URL('./decode-worker.js', import.meta.url);

export function createFrameDecoder(threads: number): FrameDecoder {
  if (threads <= 1 || !existsSync(fileURLToPath(WORKER_SCRIPT))) return inThreadDecoder;
  return new DecodePool(threads);
}

interface Pending {
  transferSyntaxUid: string;
  /** The pool slot whose thread has the frame. */
  slot: number;
  resolve: (reply: Extract<DecodeReply, { error?: undefined }>) => void;
  reject: (error: Error) => void;
}

/**
 * Supervised: a thread that dies (out of memory, a crash in a codec) fails only the frames it
 * held, with a CorruptPixelDataError naming why, and is replaced, so that no decode is left
 * waiting forever and the pool keeps its size.
 */
class DecodePool implements FrameDecoder {
  private readonly workers: Worker[];
  private readonly pending = new Map<number, Pending>();
  private readonly load: number[];
  private nextId = 0;
  private closing = false;

  constructor(readonly threads: number) {
    this.workers = Array.from({ length: threads }, (_, slot) => this.spawn(slot));
    this.load = this.workers.map(() => 0);
  }

  private spawn(slot: number): Worker {
    const worker = new Worker(WORKER_SCRIPT);
    // Idle decoding threads must not keep the process alive.
    worker.unref();
    worker.on('message', (reply: DecodeReply) => this.settle(slot, reply));
    worker.on('error', (error: unknown) => this.failSlot(slot, error instanceof Error ? error.message : String(error)));
    worker.on('exit', (code) => {
      if (this.closing || this.workers[slot] !== worker) return;
      this.failSlot(slot, `exited with code ${code}`);
      this.workers[slot] = this.spawn(slot);
      this.load[slot] = 0;
    });
    return worker;
  }

  async decode(transferSyntaxUid: string, frame: Uint8Array, pixel: PixelDescription): Promise<StoredPixels> {
    const reply = await this.send({ transferSyntaxUid, frame, pixel });
    return new TYPED_ARRAYS[reply.kind](reply.buffer) as StoredPixels;
  }

  async decodeRescaled(
    transferSyntaxUid: string,
    frame: Uint8Array,
    pixel: PixelDescription,
    rescale: Rescale,
  ): Promise<RescaledFrame> {
    const reply = await this.send({ transferSyntaxUid, frame, pixel, rescale });
    const values = new TYPED_ARRAYS[reply.kind](reply.buffer) as RescaledFrame['values'];
    return { values, min: reply.min!, max: reply.max! };
  }

  private send(request: Omit<DecodeRequest, 'id'>): Promise<Extract<DecodeReply, { error?: undefined }>> {
    const id = this.nextId++;
    // The least busy thread: frames of one series cost about the same.
    const slot = this.load.indexOf(Math.min(...this.load));
    this.load[slot]++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { transferSyntaxUid: request.transferSyntaxUid, slot, resolve, reject });
      this.workers[slot].postMessage({ ...request, id } satisfies DecodeRequest);
    });
  }

  private settle(slot: number, reply: DecodeReply): void {
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.load[slot]--;
    this.pending.delete(reply.id);
    if (reply.error) {
      const { unsupported, detail } = reply.error;
      const uid = pending.transferSyntaxUid;
      pending.reject(
        unsupported ? new UnsupportedTransferSyntaxError(uid, detail) : new CorruptPixelDataError(uid, detail),
      );
    } else {
      pending.resolve(reply);
    }
  }

  /** Rejects the frames the slot's thread held; it is gone or going. */
  private failSlot(slot: number, why: string): void {
    for (const [id, pending] of this.pending) {
      if (pending.slot !== slot) continue;
      this.pending.delete(id);
      this.load[slot]--;
      pending.reject(new CorruptPixelDataError(pending.transferSyntaxUid, `decoding thread failed: ${why}`));
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}
