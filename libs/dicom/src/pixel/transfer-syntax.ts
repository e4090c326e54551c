/** The transfer syntaxes decodeFrame knows, by how their frames are decoded. */

export const TransferSyntax = {
  ImplicitVRLittleEndian: '1.2.840.10008.1.2',
  ExplicitVRLittleEndian: '1.2.840.10008.1.2.1',
  DeflatedExplicitVRLittleEndian: '1.2.840.10008.1.2.1.99',
  ExplicitVRBigEndian: '1.2.840.10008.1.2.2',
  RLELossless: '1.2.840.10008.1.2.5',
  JPEGBaseline8Bit: '1.2.840.10008.1.2.4.50',
  JPEGExtended12Bit: '1.2.840.10008.1.2.4.51',
  JPEGLossless: '1.2.840.10008.1.2.4.57',
  JPEGLosslessSV1: '1.2.840.10008.1.2.4.70',
  JPEGLSLossless: '1.2.840.10008.1.2.4.80',
  JPEGLSNearLossless: '1.2.840.10008.1.2.4.81',
  JPEG2000Lossless: '1.2.840.10008.1.2.4.90',
  JPEG2000: '1.2.840.10008.1.2.4.91',
  HTJ2KLossless: '1.2.840.10008.1.2.4.201',
  HTJ2KLosslessRPCL: '1.2.840.10008.1.2.4.202',
  HTJ2K: '1.2.840.10008.1.2.4.203',
} as const;

export type Codec = 'native-le' | 'native-be' | 'rle' | 'jpeg-dct' | 'jpeg-lossless' | 'jpeg-ls' | 'j2k' | 'htj2k';

const CODECS = new Map<string, { codec: Codec; name: string }>(
  Object.entries({
    [TransferSyntax.ImplicitVRLittleEndian]: { codec: 'native-le', name: 'Implicit VR Little Endian' },
    [TransferSyntax.ExplicitVRLittleEndian]: { codec: 'native-le', name: 'Explicit VR Little Endian' },
    [TransferSyntax.DeflatedExplicitVRLittleEndian]: { codec: 'native-le', name: 'Deflated Explicit VR Little Endian' },
    [TransferSyntax.ExplicitVRBigEndian]: { codec: 'native-be', name: 'Explicit VR Big Endian' },
    [TransferSyntax.RLELossless]: { codec: 'rle', name: 'RLE Lossless' },
    [TransferSyntax.JPEGBaseline8Bit]: { codec: 'jpeg-dct', name: 'JPEG Baseline (Process 1)' },
    [TransferSyntax.JPEGExtended12Bit]: { codec: 'jpeg-dct', name: 'JPEG Extended (Process 2 & 4)' },
    [TransferSyntax.JPEGLossless]: { codec: 'jpeg-lossless', name: 'JPEG Lossless (Process 14)' },
    [TransferSyntax.JPEGLosslessSV1]: { codec: 'jpeg-lossless', name: 'JPEG Lossless SV1 (Process 14, SV1)' },
    [TransferSyntax.JPEGLSLossless]: { codec: 'jpeg-ls', name: 'JPEG-LS Lossless' },
    [TransferSyntax.JPEGLSNearLossless]: { codec: 'jpeg-ls', name: 'JPEG-LS Near-Lossless' },
    [TransferSyntax.JPEG2000Lossless]: { codec: 'j2k', name: 'JPEG 2000 Lossless' },
    [TransferSyntax.JPEG2000]: { codec: 'j2k', name: 'JPEG 2000' },
    [TransferSyntax.HTJ2KLossless]: { codec: 'htj2k', name: 'HTJ2K Lossless' },
    [TransferSyntax.HTJ2KLosslessRPCL]: { codec: 'htj2k', name: 'HTJ2K Lossless RPCL' },
    [TransferSyntax.HTJ2K]: { codec: 'htj2k', name: 'HTJ2K' },
  }),
);

/** The codec family of a transfer syntax, or undefined when decodeFrame does not know it. */
export function codecOf(uid: string): Codec | undefined {
  return CODECS.get(uid)?.codec;
}

/** "JPEG Lossless SV1 (1.2.840.10008.1.2.4.70)"; unknown UIDs are shown as given (bounded in length). */
export function transferSyntaxName(uid: string): string {
  const known = CODECS.get(uid);
  const shown = uid.length > 64 ? `${uid.slice(0, 64)}…` : uid;
  return known ? `${known.name} (${uid})` : `'${shown}'`;
}

/**
 * Whether decodeFrame can decode every frame of this transfer syntax. JPEG
 * Extended (.51) answers false: its 12-bit frames (the usual case for CT) need a
 * 12-bit DCT decoder that is not installed. Its 8-bit frames still decode, so a
 * caller that asks an archive for another syntax when this is false loses nothing.
 */
export function isSupportedTransferSyntax(uid: string): boolean {
  return codecOf(uid) !== undefined && uid !== TransferSyntax.JPEGExtended12Bit;
}
