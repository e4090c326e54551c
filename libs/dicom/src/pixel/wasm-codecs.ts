/**
 * The WebAssembly codecs (CharLS, OpenJPEG, OpenJPH, libjpeg-turbo), each
 * instantiated once per process on first use and reused for every frame. A
 * module that failed in a way that may have left it unusable (a WebAssembly trap
 * or abort, as opposed to a C++ exception it threw on bad input) is discarded
 * and instantiated again on next use. The vendor APIs are typed here only.
 */

export interface CodecFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}

/** The common shape of the embind decoder classes of the @cornerstonejs codecs. */
export interface WasmDecoder {
  /** A view into WebAssembly memory of `length` bytes, to copy the bitstream into. */
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  getFrameInfo(): CodecFrameInfo;
  /** A view into WebAssembly memory: copy it before delete(). */
  getDecodedBuffer(): Uint8Array;
  delete(): void;
}

export interface JpegLsDecoder extends WasmDecoder {
  /** 0 none (colour by plane), 1 line, 2 sample. */
  getInterleaveMode(): number;
  getNearLossless(): number;
}

interface CharLsModule {
  JpegLSDecoder: new () => JpegLsDecoder;
}
interface OpenJpegModule {
  J2KDecoder: new () => WasmDecoder;
}
interface OpenJphModule {
  HTJ2KDecoder: new () => WasmDecoder;
}
interface LibJpegTurboModule {
  JPEGDecoder: new () => WasmDecoder;
}

export type CodecName = 'CharLS' | 'OpenJPEG' | 'OpenJPH' | 'libjpeg-turbo';

/** What the codecs printed lately (OpenJPEG and OpenJPH explain failures only there). */
const messages: string[] = [];
const instantiations: Record<CodecName, number> = { CharLS: 0, OpenJPEG: 0, OpenJPH: 0, 'libjpeg-turbo': 0 };

function remember(text: string): void {
  messages.push(text);
  if (messages.length > 20) messages.shift();
}

class LazyCodec<M> {
  private instance: Promise<M> | undefined;

  constructor(
    readonly name: CodecName,
    private readonly load: () => Promise<(moduleArg?: object) => Promise<unknown>>,
  ) {}

  get(): Promise<M> {
    this.instance ??= this.instantiate();
    return this.instance;
  }

  discard(): void {
    this.instance = undefined;
  }

  private async instantiate(): Promise<M> {
    try {
      const factory = await this.load();
      instantiations[this.name]++;
      // Keep the codecs' chatter (OpenJPEG logs every header it reads) off stdout; keep it for error messages.
      return (await factory({ print: remember, printErr: remember })) as M;
    } catch (error) {
      this.instance = undefined;
      throw error;
    }
  }
}

export const charls = new LazyCodec<CharLsModule>(
  'CharLS',
  async () => (await import('@cornerstonejs/codec-charls/decodewasmjs')).default,
);
export const openjpeg = new LazyCodec<OpenJpegModule>(
  'OpenJPEG',
  async () => (await import('@cornerstonejs/codec-openjpeg/decodewasmjs')).default,
);
export const openjph = new LazyCodec<OpenJphModule>(
  'OpenJPH',
  async () => (await import('@cornerstonejs/codec-openjph/wasmjs')).default,
);
export const libjpegTurbo = new LazyCodec<LibJpegTurboModule>(
  'libjpeg-turbo',
  async () => (await import('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs')).default,
);

export interface WasmDecoded {
  info: CodecFrameInfo;
  /** A copy, owned by the caller. */
  bytes: Uint8Array;
  /** Extra values read from the decoder before it was deleted. */
  extra: { interleaveMode?: number };
}

/**
 * Runs one decode: copies `data` in, decodes, copies the pixels out, deletes the
 * decoder. Throws a CodecFailure carrying the codec's own words when it fails.
 */
export async function runWasmDecoder<M>(
  codec: LazyCodec<M>,
  create: (module: M) => WasmDecoder,
  data: Uint8Array,
): Promise<WasmDecoded> {
  const module = await codec.get();
  messages.length = 0;
  let decoder: WasmDecoder | undefined;
  try {
    decoder = create(module);
    decoder.getEncodedBuffer(data.length).set(data);
    decoder.decode();
    const info = decoder.getFrameInfo();
    const bytes = decoder.getDecodedBuffer().slice();
    const extra =
      'getInterleaveMode' in decoder ? { interleaveMode: (decoder as JpegLsDecoder).getInterleaveMode() } : {};
    return { info, bytes, extra };
  } catch (error) {
    // A thrown number is a C++ exception (bad input, module intact); anything else may be a trap or abort.
    if (typeof error !== 'number') codec.discard();
    throw new CodecFailure(codec.name, error, recentMessages());
  } finally {
    try {
      decoder?.delete();
    } catch {
      codec.discard();
    }
  }
}

/** The codec's recent error lines (not its informational ones), newest last. */
export function recentMessages(): string {
  return messages
    .filter((line) => !line.startsWith('[INFO]'))
    .slice(-3)
    .join('; ');
}

export class CodecFailure extends Error {
  constructor(
    readonly codec: CodecName,
    cause: unknown,
    readonly codecMessages: string,
  ) {
    const what =
      typeof cause === 'number' ? 'a native exception' : cause instanceof Error ? cause.message : String(cause);
    super(`${codec} failed (${what})${codecMessages ? `: ${codecMessages}` : ''}`, { cause });
    this.name = 'CodecFailure';
  }
}

/** How many times each codec module was instantiated in this process (tests check reuse). */
export function codecInstantiations(): Readonly<Record<CodecName, number>> {
  return { ...instantiations };
}
