/** The per-attempt timer and signal; read() may keep it alive past the exchange (streaming). */
export interface Attempt {
  readonly number: number;
  readonly signal: AbortSignal;
  readonly timedOut: boolean;
  /** The timeout is an idle timeout, reset by touch(). */
  readonly idle: boolean;
  /** Auth header values sent with this attempt, to redact from server text. */
  credentials: string[];
  touch(): void;
  /** Stops the idle clock while the consumer holds a yielded instance; resume() restarts it. */
  pause(): void;
  resume(): void;
  dispose(): void;
}

export interface AttemptOptions {
  timeoutMs: number;
  /** Timeout resets on every touch() (streaming) instead of covering the whole exchange. */
  idle: boolean;
  /** The caller's signal, which aborts the attempt too. */
  signal?: AbortSignal | undefined;
}

/** Starts attempt `number` (1-based): its signal aborts with a TimeoutError when the clock runs out. */
export function startAttempt(number: number, { timeoutMs, idle, signal: callerSignal }: AttemptOptions): Attempt {
  const controller = new AbortController();
  let timedOut = false;
  let disposed = false;
  const fire = () => {
    timedOut = true;
    controller.abort(new DOMException(`DICOMweb request timed out after ${timeoutMs} ms`, 'TimeoutError'));
  };
  let timer: NodeJS.Timeout | undefined = setTimeout(fire, timeoutMs);
  const signal = callerSignal ? AbortSignal.any([controller.signal, callerSignal]) : controller.signal;
  return {
    number,
    signal,
    idle,
    credentials: [],
    get timedOut() {
      return timedOut;
    },
    touch: () => {
      if (idle) timer?.refresh();
    },
    pause: () => {
      if (!idle) return;
      clearTimeout(timer);
      timer = undefined;
    },
    resume: () => {
      if (idle && !disposed && !timer) timer = setTimeout(fire, timeoutMs);
    },
    dispose: () => {
      disposed = true;
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
