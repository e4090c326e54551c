import { parentPort } from 'node:worker_threads';
import { decodeFrame } from './decode-frame.js';
import { CorruptPixelDataError, UnsupportedTransferSyntaxError } from './errors.js';
import type { DecodeReply, DecodeRequest } from './decode-pool.js';

/** A decoding thread of the DecodePool: one frame per message, the result's buffer transferred back. */
parentPort?.on('message', (request: DecodeRequest) => {
  decodeFrame(request.transferSyntaxUid, request.frame, request.pixel).then(
    (stored) => {
      const reply: DecodeReply = { id: request.id, kind: stored.constructor.name, buffer: stored.buffer };
      parentPort?.postMessage(reply, [stored.buffer as ArrayBuffer]);
    },
    (error: unknown) => {
      const unsupported = error instanceof UnsupportedTransferSyntaxError;
      const detail =
        error instanceof CorruptPixelDataError || unsupported ? error.detail : `decoder failed: ${String(error)}`;
      const reply: DecodeReply = { id: request.id, error: { unsupported, detail } };
      parentPort?.postMessage(reply);
    },
  );
});
