/**
 * A small adapter around onnxruntime-node: the vendor's types stay in this file.
 * One session per graph, created once from a file; float32 tensors in and out.
 */
import ort from 'onnxruntime-node';

/** A dense float32 tensor, C order. */
export interface FloatTensor {
  data: Float32Array;
  dims: number[];
}

/** Execution providers we know how to ask for; 'cpu' is always available. */
export type ExecutionProvider = 'cpu' | 'cuda' | 'tensorrt' | 'dml' | 'coreml' | 'webgpu';

export interface OnnxSessionOptions {
  /** Tried in order by onnxruntime; default ['cpu']. */
  executionProviders?: readonly ExecutionProvider[];
  /** Threads for one operator; default: onnxruntime's choice. */
  intraOpThreads?: number;
  /** One line per notable event (e.g. the GPU fallback). Default: nothing. */
  log?: (line: string) => void;
}

export class OnnxSession {
  private closed = false;

  private constructor(
    private readonly session: ort.InferenceSession,
    /** The providers the session was finally created with. */
    readonly executionProviders: readonly ExecutionProvider[],
    readonly path: string,
    /** Why the requested providers failed, when the session fell back to CPU. */
    readonly fallbackReason?: string,
  ) {}

  /**
   * Creates the session. When a non-CPU provider is requested and creation throws (no GPU,
   * no CUDA libraries), logs one line and retries with ['cpu']; a CPU failure is rethrown.
   */
  static async create(path: string, options: OnnxSessionOptions = {}): Promise<OnnxSession> {
    const providers = options.executionProviders?.length ? [...options.executionProviders] : ['cpu' as const];
    const threads = options.intraOpThreads;
    if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
      throw new RangeError(`onnx session: intraOpThreads must be a positive integer, got ${threads}`);
    }
    const make = (eps: ExecutionProvider[]): Promise<ort.InferenceSession> =>
      ort.InferenceSession.create(path, {
        executionProviders: eps,
        ...(threads === undefined ? {} : { intraOpNumThreads: threads }),
      });
    try {
      return new OnnxSession(await make(providers), providers, path);
    } catch (error) {
      if (providers.every((p) => p === 'cpu')) throw error;
      const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0];
      options.log?.(
        `onnx session ${path}: execution providers [${providers.join(', ')}] failed (${reason}); falling back to [cpu]`,
      );
      return new OnnxSession(await make(['cpu']), ['cpu'], path, reason);
    }
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Runs the graph; every output must be float32. */
  async run(inputs: Record<string, FloatTensor>): Promise<Record<string, FloatTensor>> {
    if (this.closed) throw new Error(`onnx session ${this.path}: already closed`);
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, { data, dims }] of Object.entries(inputs)) {
      const size = dims.reduce((a, b) => a * b, 1);
      if (size !== data.length) {
        throw new RangeError(`onnx session: input ${name} has ${data.length} values for dims [${dims.join(', ')}]`);
      }
      feeds[name] = new ort.Tensor('float32', data, dims);
    }
    const results = await this.session.run(feeds);
    const out: Record<string, FloatTensor> = {};
    for (const [name, tensor] of Object.entries(results)) {
      if (tensor.type !== 'float32' || !(tensor.data instanceof Float32Array)) {
        throw new TypeError(`onnx session: output ${name} is ${tensor.type}, expected float32`);
      }
      out[name] = { data: tensor.data, dims: [...tensor.dims] };
    }
    return out;
  }

  /** Releases the native session; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.session.release();
  }
}
