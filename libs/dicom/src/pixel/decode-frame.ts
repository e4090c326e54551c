import { CorruptPixelDataError, UnsupportedTransferSyntaxError } from './errors.js';
import { describe } from './finish.js';
import { decodeJ2k } from './j2k.js';
import { decodeJpegFamily } from './jpeg.js';
import { decodeNative } from './native.js';
import { validateDescription, type PixelDescription, type StoredPixels } from './pixel-description.js';
import { decodeRle } from './rle.js';
import { codecOf } from './transfer-syntax.js';

/**
 * Decodes one frame to its stored values (before Modality LUT / rescale).
 *
 * `frame` is the frame's bytes: for native syntaxes (Implicit/Explicit VR Little
 * Endian, Deflated after the caller inflated the dataset, Explicit VR Big
 * Endian) exactly rows*columns*samplesPerPixel*bitsAllocated/8 bytes (plus one
 * pad byte if that is odd); for encapsulated syntaxes the complete bitstream of
 * one frame (its fragments concatenated). Colour frames come back colour by pixel.
 *
 * Throws UnsupportedTransferSyntaxError for a syntax (or variant, e.g. 12-bit
 * JPEG Extended) without a decoder, and CorruptPixelDataError for anything
 * wrong with the frame: never a frame of the wrong size, and never zeros in
 * place of a bitstream that could not be decoded.
 */
export async function decodeFrame(
  transferSyntaxUid: string,
  frame: Uint8Array,
  pixel: PixelDescription,
): Promise<StoredPixels> {
  const uid = transferSyntaxUid.replace(/[\0 ]+$/, ''); // UI values may keep their NUL/space padding
  const codec = codecOf(uid);
  if (!codec) throw new UnsupportedTransferSyntaxError(uid, 'not a transfer syntax this decoder knows');
  const samples = validateDescription(uid, pixel);
  if (!ArrayBuffer.isView(frame)) throw new CorruptPixelDataError(uid, 'frame is not a byte array');
  if (frame.byteLength === 0) throw new CorruptPixelDataError(uid, 'frame is empty');
  // A plain byte view of this realm (a Buffer, or bytes from a WebAssembly module or another realm, all work).
  const bytes = new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength);

  let stored: StoredPixels;
  try {
    switch (codec) {
      case 'native-le':
      case 'native-be':
        stored = decodeNative(uid, bytes, pixel, samples, codec === 'native-be');
        break;
      case 'rle':
        stored = decodeRle(uid, bytes, pixel, samples);
        break;
      case 'jpeg-dct':
      case 'jpeg-lossless':
      case 'jpeg-ls':
        stored = await decodeJpegFamily(uid, bytes, pixel, samples);
        break;
      case 'j2k':
      case 'htj2k':
        stored = await decodeJ2k(uid, bytes, pixel, samples);
        break;
    }
  } catch (error) {
    if (error instanceof CorruptPixelDataError || error instanceof UnsupportedTransferSyntaxError) throw error;
    if (error instanceof RangeError || error instanceof TypeError) {
      // A malformed bitstream led a decoder astray (out-of-range reads, absurd allocations).
      throw new CorruptPixelDataError(uid, `decoder failed on a malformed bitstream: ${describe(error)}`, {
        cause: error,
      });
    }
    throw error;
  }
  if (stored.length !== samples) {
    throw new CorruptPixelDataError(uid, `decoded ${stored.length} samples, expected ${samples}`);
  }
  return stored;
}
