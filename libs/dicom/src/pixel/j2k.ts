import { readJ2kHeader } from './codestream.js';
import { CorruptPixelDataError, UnsupportedTransferSyntaxError } from './errors.js';
import { checkGeometry, checkPrecision, finishDecoded, wasm } from './finish.js';
import type { PixelDescription, StoredPixels } from './pixel-description.js';
import { openjpeg, openjph, recentMessages, runWasmDecoder } from './wasm-codecs.js';

/**
 * JPEG 2000 (.90, .91) and HTJ2K (.201, .202, .203). The codestream picks the
 * decoder: one with a CAP marker uses Part 15 (high-throughput) block coding and
 * goes to OpenJPH, any other to OpenJPEG (HTJ2K transfer syntaxes may also carry
 * Part 1 codestreams). The codestream is checked for completeness first: OpenJPH
 * decodes a truncated codestream without any error.
 */
export async function decodeJ2k(
  uid: string,
  frame: Uint8Array,
  pixel: PixelDescription,
  samples: number,
): Promise<StoredPixels> {
  const header = readJ2kHeader(uid, frame);
  checkGeometry(uid, 'the JPEG 2000 SIZ marker', header, pixel);
  checkPrecision(uid, 'the JPEG 2000 SIZ marker', header.precision, pixel);
  if (header.precision > 16) {
    throw new UnsupportedTransferSyntaxError(uid, `JPEG 2000 precision ${header.precision} above 16 bits`);
  }
  const ht = header.highThroughput;
  const name = ht ? 'OpenJPH' : 'OpenJPEG';
  const { info, bytes } = await wasm(uid, () =>
    ht
      ? runWasmDecoder(openjph, (m) => new m.HTJ2KDecoder(), header.codestream)
      : runWasmDecoder(openjpeg, (m) => new m.J2KDecoder(), header.codestream),
  );
  if (info.width === 0 || bytes.length === 0) {
    // OpenJPEG and OpenJPH report failure by printing it and returning no image.
    throw new CorruptPixelDataError(uid, `${name} could not decode the codestream: ${recentMessages() || 'no detail'}`);
  }
  checkGeometry(
    uid,
    `the ${name} output`,
    { rows: info.height, columns: info.width, components: info.componentCount },
    pixel,
  );
  if (info.bitsPerSample !== header.precision) {
    throw new CorruptPixelDataError(
      uid,
      `${name} decoded ${info.bitsPerSample}-bit samples from a ${header.precision}-bit codestream`,
    );
  }
  return finishDecoded(uid, name, bytes, header.precision, info.isSigned ?? header.signed, pixel, samples);
}
