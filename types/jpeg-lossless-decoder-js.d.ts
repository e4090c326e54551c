// jpeg-lossless-decoder-js 2.1.2 names release/lossless.d.ts in its package.json but does not ship it.
// Only what libs/dicom/src/pixel uses is declared.
declare module 'jpeg-lossless-decoder-js' {
  export class Decoder {
    constructor(buffer?: ArrayBuffer | null, numBytes?: number);
    /** Decodes a JPEG lossless (process 14) stream; numBytes defaults to ceil(precision / 8) from the frame header. */
    decode(buffer?: ArrayBuffer, offset?: number, length?: number, numBytes?: number): Uint8Array | Uint16Array;
    /** The input stream after decode(): `index` is how far the decoder read (beyond buffer.length when truncated). */
    stream: { buffer: Uint8Array; index: number } | null;
    /** Where the decoder stopped writing: yLoc === frame rows when every pixel was produced. */
    xLoc: number;
    yLoc: number;
    xDim: number;
    yDim: number;
    precision: number | undefined;
    /** Predictor 7, (Ra + Rb) / 2; the previous samples in the current component. */
    select7(compOffset?: number): number;
    getPreviousX(compOffset?: number): number;
    getPreviousY(compOffset?: number): number;
  }
}
