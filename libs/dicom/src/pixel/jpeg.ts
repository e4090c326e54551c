import { Decoder as LosslessDecoder } from 'jpeg-lossless-decoder-js';
import { readJpegHeader, withoutPadding, type JpegHeader } from './codestream.js';
import { CorruptPixelDataError, UnsupportedTransferSyntaxError } from './errors.js';
import { checkGeometry, checkPrecision, describe, finishDecoded, wasm } from './finish.js';
import type { PixelDescription, StoredPixels } from './pixel-description.js';
import { charls, libjpegTurbo, runWasmDecoder } from './wasm-codecs.js';

/**
 * The JPEG family (.50, .51, .57, .70, .80, .81). The frame header (SOF marker),
 * not the transfer syntax UID, picks the decoder, so a mislabelled stream is
 * decoded as what it is:
 * - SOF3 (lossless, Huffman): jpeg-lossless-decoder-js;
 * - SOF0/1/2 (DCT, Huffman) at 8 bits: libjpeg-turbo (8-bit build);
 * - SOF0/1/2 at 12 bits: no decoder here (UnsupportedTransferSyntaxError);
 * - SOF55 (JPEG-LS): CharLS;
 * - hierarchical or arithmetic-coded processes: unsupported.
 */
export async function decodeJpegFamily(
  uid: string,
  frame: Uint8Array,
  pixel: PixelDescription,
  samples: number,
): Promise<StoredPixels> {
  const header = readJpegHeader(uid, frame);
  if (header.sof === 0xf7) return decodeJpegLs(uid, frame, header, pixel, samples);
  if (header.sof === 0xc3) return decodeLossless(uid, frame, header, pixel, samples);
  if (header.sof === 0xc0 || header.sof === 0xc1 || header.sof === 0xc2) {
    if (header.precision !== 8) {
      throw new UnsupportedTransferSyntaxError(
        uid,
        `the frame is ${header.precision}-bit DCT JPEG (SOF${header.sof - 0xc0}); only 8-bit DCT is decodable here ` +
          '(the installed libjpeg-turbo build is 8-bit only)',
      );
    }
    return decodeDct(uid, frame, header, pixel, samples);
  }
  throw new UnsupportedTransferSyntaxError(
    uid,
    `JPEG process SOF${header.sof - 0xc0} (hierarchical or arithmetic coding) has no decoder here`,
  );
}

async function decodeDct(
  uid: string,
  frame: Uint8Array,
  header: JpegHeader,
  pixel: PixelDescription,
  samples: number,
): Promise<StoredPixels> {
  checkGeometry(uid, 'the JPEG frame header', header, pixel);
  checkPrecision(uid, 'the JPEG frame header', header.precision, pixel);
  const { info, bytes } = await wasm(uid, () =>
    runWasmDecoder(libjpegTurbo, (m) => new m.JPEGDecoder(), withoutPadding(frame)),
  );
  checkGeometry(
    uid,
    'the libjpeg-turbo output',
    { rows: info.height, columns: info.width, components: info.componentCount },
    pixel,
  );
  return finishDecoded(uid, 'libjpeg-turbo', bytes, 8, false, pixel, samples);
}

async function decodeJpegLs(
  uid: string,
  frame: Uint8Array,
  header: JpegHeader,
  pixel: PixelDescription,
  samples: number,
): Promise<StoredPixels> {
  // A JPEG-LS header may leave Y to a later marker (rows 0); CharLS's result is checked below anyway.
  if (header.rows !== 0) checkGeometry(uid, 'the JPEG-LS frame header', header, pixel);
  checkPrecision(uid, 'the JPEG-LS frame header', header.precision, pixel);
  if (header.precision > 16) throw new CorruptPixelDataError(uid, `JPEG-LS precision ${header.precision} exceeds 16`);
  const { info, bytes, extra } = await wasm(uid, () =>
    runWasmDecoder(charls, (m) => new m.JpegLSDecoder(), withoutPadding(frame)),
  );
  checkGeometry(
    uid,
    'the CharLS output',
    { rows: info.height, columns: info.width, components: info.componentCount },
    pixel,
  );
  return finishDecoded(uid, 'CharLS', bytes, info.bitsPerSample, false, pixel, samples, extra.interleaveMode === 0);
}

function decodeLossless(
  uid: string,
  frame: Uint8Array,
  header: JpegHeader,
  pixel: PixelDescription,
  samples: number,
): StoredPixels {
  checkGeometry(uid, 'the JPEG frame header', header, pixel);
  checkPrecision(uid, 'the JPEG frame header', header.precision, pixel);
  if (header.precision < 2 || header.precision > 16) {
    throw new CorruptPixelDataError(uid, `JPEG lossless precision ${header.precision} is outside 2..16`);
  }
  if (header.ss < 1 || header.ss > 7)
    throw new CorruptPixelDataError(uid, `JPEG lossless predictor ${header.ss} is invalid`);
  if (header.al !== 0) {
    throw new UnsupportedTransferSyntaxError(uid, `JPEG lossless with point transform ${header.al} is not supported`);
  }
  if (header.restartInterval !== 0) {
    // The decoder mishandles a code that ends right before a marker (see withTrailingFillBits);
    // before an RST marker that silently corrupts a pixel, and there is no padding trick for it.
    throw new UnsupportedTransferSyntaxError(
      uid,
      `JPEG lossless with restart intervals (DRI ${header.restartInterval}) is not supported by jpeg-lossless-decoder-js`,
    );
  }
  if (header.components !== 1 && header.precision > 8) {
    throw new UnsupportedTransferSyntaxError(uid, 'multi-component JPEG lossless above 8 bits is not supported');
  }
  const decoder = new FixedLosslessDecoder();
  const stream = withTrailingFillBits(frame);
  let decoded: Uint8Array | Uint16Array;
  try {
    // numBytes is left to the decoder: it follows the frame header's precision, not BitsStored.
    decoded = decoder.decode(stream.buffer, 0, stream.length);
  } catch (error) {
    throw new CorruptPixelDataError(uid, `JPEG lossless decoder failed: ${describe(error)}`, { cause: error });
  }
  // The decoder reads past the end of a truncated stream (as zeros) and stops early at an
  // unexpected marker without complaint: both would leave garbage or zeros, so both are checked.
  const read = decoder.stream;
  if (!read || read.index > read.buffer.length) {
    throw new CorruptPixelDataError(uid, 'JPEG lossless bitstream ended before the last pixel (truncated)');
  }
  if (decoder.yLoc < header.rows) {
    throw new CorruptPixelDataError(
      uid,
      `JPEG lossless scan ended after ${decoder.yLoc * header.columns + decoder.xLoc} of ${header.rows * header.columns} pixels`,
    );
  }
  const bytes = new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.byteLength);
  return finishDecoded(uid, 'the JPEG lossless decoder', bytes, header.precision, false, pixel, samples);
}

/**
 * jpeg-lossless-decoder-js 2.1.2 computes predictor 7, (Ra + Rb) / 2, as a
 * fraction; adding a negative difference then truncates towards zero instead of
 * flooring (e.g. 0.5 - 1 gives 0, not -1 = 0xffff), which corrupts samples
 * whose bit pattern wraps (signed data). ISO 10918-1 H.1.2.1 uses an integer
 * shift, as libjpeg does.
 */
class FixedLosslessDecoder extends LosslessDecoder {
  override select7(compOffset?: number): number {
    return (this.getPreviousX(compOffset) + this.getPreviousY(compOffset)) >> 1;
  }
}

/**
 * A copy of the stream with 16 extra 1-bits (two stuffed 0xFF bytes) before its
 * EOI. jpeg-lossless-decoder-js 2.1.2 takes a marker for part of the last code
 * when that code ends exactly on the byte before the marker, or when fill bytes
 * precede the EOI, and then stops one pixel short (23 of the 148 P001 frames). Fill bits after the last code are
 * never decoded as pixels (the decoder stops at rows x columns), and 1-bits are
 * what JPEG pads a scan with anyway (ISO 10918-1 F.1.2.3).
 */
function withTrailingFillBits(frame: Uint8Array): Uint8Array<ArrayBuffer> {
  const stream = withoutPadding(frame); // ends with FF D9 (checked by readJpegHeader)
  // Fill bytes (0xFF) before the EOI go too: the decoder takes FF FF for a marker. An entropy-coded
  // 0xFF is always followed by a stuffed 0x00, so an 0xFF right before the EOI is never data.
  let end = stream.length - 2;
  while (end > 0 && stream[end - 1] === 0xff) end--;
  const out = new Uint8Array(end + 6);
  out.set(stream.subarray(0, end));
  out.set([0xff, 0x00, 0xff, 0x00, 0xff, 0xd9], end);
  return out;
}
