/**
 * Pixel data decoding: one frame of any common transfer syntax to its stored values.
 *
 * | Transfer syntax | Decoder |
 * |---|---|
 * | Implicit/Explicit VR LE (.1.2, .1.2.1), Deflated (.1.2.1.99, inflated by the caller), Explicit VR BE (.1.2.2) | ours (native.ts) |
 * | RLE Lossless (.1.2.5) | ours (rle.ts, PS3.5 Annex G) |
 * | JPEG Lossless (.4.57, .4.70) | ours (jpeg-lossless.ts: table-driven Huffman, predictors 1–7, restart intervals) |
 * | JPEG Baseline (.4.50), JPEG Extended 8-bit (.4.51) | @cornerstonejs/codec-libjpeg-turbo-8bit |
 * | JPEG Extended 12-bit (.4.51) | none: UnsupportedTransferSyntaxError |
 * | JPEG-LS (.4.80, .4.81) | @cornerstonejs/codec-charls |
 * | JPEG 2000 (.4.90, .4.91) | @cornerstonejs/codec-openjpeg |
 * | HTJ2K (.4.201, .4.202, .4.203) | @cornerstonejs/codec-openjph |
 *
 * Within the JPEG and JPEG 2000 families the codestream (SOF marker, CAP marker)
 * picks the decoder. The WebAssembly codecs are instantiated once, lazily.
 */
export { decodeFrame } from './decode-frame.js';
export { CorruptPixelDataError, UnsupportedTransferSyntaxError } from './errors.js';
export type { PixelDescription, StoredPixels } from './pixel-description.js';
export type { Rescale, RescaledFrame } from './rescale.js';
export { isSupportedTransferSyntax } from './transfer-syntax.js';
export { createFrameDecoder, inThreadDecoder } from './decode-pool.js';
export type { FrameDecoder } from './decode-pool.js';
