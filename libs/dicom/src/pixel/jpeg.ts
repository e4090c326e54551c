import { readJpegHeader, withoutPadding, type JpegHeader } from './codestream.js';
import { CorruptPixelDataError, UnsupportedTransferSyntaxError } from './errors.js';
import { checkGeometry, checkPrecision, finishDecoded, wasm } from './finish.js';
import { decodeJpegLossless } from './jpeg-lossless.js';
import type { PixelDescription, StoredPixels } from './pixel-description.js';
import { charls, libjpegTurbo, runWasmDecoder } from './wasm-codecs.js';

/**
 * The JPEG family (.50, .51, .57, .70, .80, .81). The frame header (SOF marker),
 * not the transfer syntax UID, picks the decoder, so a mislabelled stream is
 * decoded as what it is:
 * - SOF3 (lossless, Huffman): ours (jpeg-lossless.ts);
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
  // The frame header's precision, not BitsStored, sizes the samples (PS3.5 8.2.1).
  const image = decodeJpegLossless(uid, withoutPadding(frame));
  if (image.samples instanceof Uint16Array && pixel.bitsAllocated === 16 && pixel.pixelRepresentation === 0) {
    // CT's common case: our samples are already the stored values; mask in place (as finishDecoded would).
    const mask = (1 << image.precision) - 1;
    if (image.precision < 16) for (let i = 0; i < image.samples.length; i++) image.samples[i] &= mask;
    return image.samples;
  }
  const bytes = new Uint8Array(image.samples.buffer, image.samples.byteOffset, image.samples.byteLength);
  return finishDecoded(uid, 'the JPEG lossless decoder', bytes, image.precision, false, pixel, samples);
}
