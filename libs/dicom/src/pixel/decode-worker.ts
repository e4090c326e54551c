import { parentPort } from 'node:worker_threads';
import { decodeFrame } from './decode-frame.js';
import { CorruptPixelDataError, UnsupportedTransferSyntaxError } from './errors.js';
import type { DecodeReply, DecodeRequest } from './decode-pool.js';
import { rescaleFrame } from './rescale.js';

/**
 * A decoding thread of the DecodePool: one frame per message, rescaled to HU when asked,
 * the result's buffer transferred back.
 */
parentPort?.on('message', (request: DecodeRequest) => {
  decodeFrame(request.transferSyntaxUid, request.frame, request.pixel).then(
    (stored) => {
      const { values, min, max } = request.rescale
        ? rescaleFrame(stored, request.rescale)
        : { values: stored, min: undefined, max: undefined };
      const reply: DecodeReply = { id: request.id, kind: values.constructor.name, buffer: values.buffer, min, max };
      parentPort?.postMessage(reply, [values.buffer as ArrayBuffer]);
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
