import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { decodeFrame } from './decode-frame.js';
import { CorruptPixelDataError, UnsupportedTransferSyntaxError } from './errors.js';
import type { PixelDescription, StoredPixels } from './pixel-description.js';

/**
 * Decoding dominates ingest (a 512² JPEG Lossless frame takes 15–25 ms on one core),
 * so frames can be decoded on a pool of worker threads, one per core. Where the
 * compiled worker script is absent (running from TypeScript sources, as in unit
 * tests) or one thread is asked for, frames are decoded on the calling thread.
 */
export interface FrameDecoder {
  readonly threads: number;
  decode(transferSyntaxUid: string, frame: Uint8Array, pixel: PixelDescription): Promise<StoredPixels>;
  close(): Promise<void>;
}

export interface DecodeRequest {
  id: number;
  transferSyntaxUid: string;
  frame: Uint8Array;
  pixel: PixelDescription;
}

export type DecodeReply =
  | { id: number; kind: string; buffer: ArrayBufferLike; error?: undefined }
  | { id: number; error: { unsupported: boolean; detail: string } };

const TYPED_ARRAYS: Record<string, new (buffer: ArrayBufferLike) => StoredPixels> = {
  Int8Array,
  Uint8Array,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
};

export const inThreadDecoder: FrameDecoder = { threads: 1, decode: decodeFrame, close: async () => undefined };

const WORKER_SCRIPT = new URL('./decode-worker.js', import.meta.url);

export function createFrameDecoder(threads: number): FrameDecoder {
  if (threads <= 1 || !existsSync(fileURLToPath(WORKER_SCRIPT))) return inThreadDecoder;
  return new DecodePool(threads);
}

interface Pending {
  transferSyntaxUid: string;
  resolve: (pixels: StoredPixels) => void;
  reject: (error: Error) => void;
}

class DecodePool implements FrameDecoder {
  private readonly workers: Worker[];
  private readonly pending = new Map<number, Pending>();
  private readonly load: number[];
  private nextId = 0;

  constructor(readonly threads: number) {
    this.workers = Array.from({ length: threads }, () => this.spawn());
    this.load = this.workers.map(() => 0);
  }

  private spawn(): Worker {
    const worker = new Worker(WORKER_SCRIPT);
    // Idle decoding threads must not keep the process alive.
    worker.unref();
    worker.on('message', (reply: DecodeReply) => this.settle(worker, reply));
    worker.on('error', (error: unknown) => this.failAll(error instanceof Error ? error : new Error(String(error))));
    return worker;
  }

  decode(transferSyntaxUid: string, frame: Uint8Array, pixel: PixelDescription): Promise<StoredPixels> {
    const id = this.nextId++;
    // The least busy thread: frames of one series cost about the same.
    const index = this.load.indexOf(Math.min(...this.load));
    this.load[index]++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { transferSyntaxUid, resolve, reject });
      const request: DecodeRequest = { id, transferSyntaxUid, frame, pixel };
      this.workers[index].postMessage(request);
    });
  }

  private settle(worker: Worker, reply: DecodeReply): void {
    this.load[this.workers.indexOf(worker)]--;
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    if (reply.error) {
      const { unsupported, detail } = reply.error;
      const uid = pending.transferSyntaxUid;
      pending.reject(
        unsupported ? new UnsupportedTransferSyntaxError(uid, detail) : new CorruptPixelDataError(uid, detail),
      );
    } else {
      pending.resolve(new TYPED_ARRAYS[reply.kind](reply.buffer));
    }
  }

  private failAll(error: Error): void {
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.reject(new CorruptPixelDataError(pending.transferSyntaxUid, `decoding thread failed: ${error.message}`));
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}
