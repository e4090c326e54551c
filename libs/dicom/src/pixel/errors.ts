import { PermanentError } from '@app/errors';
import { transferSyntaxName } from './transfer-syntax.js';

/**
 * The pixel data of an instance cannot be decoded: a truncated or malformed
 * bitstream, a frame of the wrong size, or a codestream that contradicts the
 * Image Pixel attributes. Retrying cannot help. Messages name the transfer
 * syntax and the failed check, never patient data.
 */
export class CorruptPixelDataError extends PermanentError {
  constructor(
    readonly transferSyntaxUid: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super('CORRUPT_INSTANCE', `cannot decode ${transferSyntaxName(transferSyntaxUid)} pixel data: ${detail}`, options);
  }
}

/** No decoder here handles this transfer syntax (or this variant of it, e.g. 12-bit JPEG Extended). */
export class UnsupportedTransferSyntaxError extends PermanentError {
  constructor(
    readonly transferSyntaxUid: string,
    readonly detail = 'no decoder is available for it',
  ) {
    super('CORRUPT_INSTANCE', `unsupported transfer syntax ${transferSyntaxName(transferSyntaxUid)}: ${detail}`);
  }
}
