import charlsFactory from '@cornerstonejs/codec-charls/wasmjs';
import openjpegFactory from '@cornerstonejs/codec-openjpeg/wasmjs';
import openjphFactory from '@cornerstonejs/codec-openjph/wasmjs';
import type { PixelDescription } from '../pixel-description.js';

/**
 * The encoders of the @cornerstonejs codec packages, for round trips at test
 * time (lossless only, or lossy with a tolerance). These full builds are
 * separate WebAssembly instances from the decode builds under test.
 */

interface Encoder {
  getDecodedBuffer(info: object): Uint8Array;
  getEncodedBuffer(): Uint8Array;
  encode(): void;
  delete(): void;
  setTileSize?(size: { width: number; height: number }): void;
  setProgressionOrder?(order: number): void;
  setQuality?(reversible: boolean, step: number): void;
  setNearLossless?(near: number): void;
  setDecompositions?(levels: number): void;
  setTilePartDivisionsAtResolutions?(on: boolean): void;
}

type Factory = (moduleArg?: object) => Promise<unknown>;
const modules = new Map<Factory, Promise<Record<string, new () => Encoder>>>();

function load(factory: Factory): Promise<Record<string, new () => Encoder>> {
  let module = modules.get(factory);
  if (!module) {
    // A fresh module argument each time: Emscripten adopts it as the module object.
    module = factory({ print: () => {}, printErr: () => {} }) as Promise<Record<string, new () => Encoder>>;
    modules.set(factory, module);
  }
  return module;
}

export interface EncodeOptions {
  /** (ignored by the OpenJPEG build) */
  tileSize?: number;
  /** 0 LRCP, 1 RLCP, 2 RPCL, 3 PCRL, 4 CPRL. */
  progressionOrder?: number;
  /** HTJ2K: irreversible with this quantisation step. */
  lossyStep?: number;
  /** JPEG-LS NEAR. */
  near?: number;
  /** HTJ2K: a tile-part per resolution (several tile-parts per tile). */
  tilePartsPerResolution?: boolean;
}

async function encode(
  factory: Factory,
  className: string,
  pixel: PixelDescription,
  stored: Int16Array | Uint16Array | Uint8Array,
  options: EncodeOptions,
): Promise<Uint8Array> {
  const module = await load(factory);
  const encoder = new module[className]();
  try {
    const info = {
      width: pixel.columns,
      height: pixel.rows,
      bitsPerSample: pixel.bitsStored,
      componentCount: pixel.samplesPerPixel,
      isSigned: pixel.pixelRepresentation === 1,
      isUsingColorTransform: false,
    };
    encoder.getDecodedBuffer(info).set(new Uint8Array(stored.buffer, stored.byteOffset, stored.byteLength));
    if (options.tileSize) encoder.setTileSize!({ width: options.tileSize, height: options.tileSize });
    if (options.progressionOrder !== undefined) encoder.setProgressionOrder!(options.progressionOrder);
    if (options.lossyStep !== undefined) encoder.setQuality!(false, options.lossyStep);
    if (options.near !== undefined) encoder.setNearLossless!(options.near);
    if (options.tilePartsPerResolution) encoder.setTilePartDivisionsAtResolutions!(true);
    encoder.encode();
    return encoder.getEncodedBuffer().slice();
  } finally {
    encoder.delete();
  }
}

export const encodeJ2k = (pixel: PixelDescription, stored: Int16Array | Uint16Array, options: EncodeOptions = {}) =>
  encode(openjpegFactory, 'J2KEncoder', pixel, stored, options);
export const encodeHtj2k = (pixel: PixelDescription, stored: Int16Array | Uint16Array, options: EncodeOptions = {}) =>
  encode(openjphFactory, 'HTJ2KEncoder', pixel, stored, options);
export const encodeJpegLs = (pixel: PixelDescription, stored: Int16Array | Uint16Array, options: EncodeOptions = {}) =>
  encode(charlsFactory, 'JpegLSEncoder', pixel, stored, options);
