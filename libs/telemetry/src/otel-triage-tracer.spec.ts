import { PermanentError, TransientError } from '@app/errors';
import { SpanStatusCode } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { beforeEach, describe, expect, it } from 'vitest';
import { OtelTriageTracer, STUDY_SPAN, TRIAGE_ATTRIBUTES as A, TRIAGE_METRICS as M } from './otel-triage-tracer.js';

/** Collects on demand (the test asks; nothing is exported periodically). */
class TestReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

const model = { id: 'test-model', name: 'Test model', version: '2.1.0' };

describe('OtelTriageTracer metrics and outcomes', () => {
  let reader: TestReader;
  let exporter: InMemorySpanExporter;
  let tracer: OtelTriageTracer;

  beforeEach(() => {
    reader = new TestReader();
    exporter = new InMemorySpanExporter();
    tracer = new OtelTriageTracer({
      tracerProvider: new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
      meterProvider: new MeterProvider({ readers: [reader] }),
    });
  });

  async function points(name: string): Promise<DataPoint<number | Histogram>[]> {
    const { resourceMetrics } = await reader.collect();
    const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
    return (metric?.dataPoints ?? []) as DataPoint<number | Histogram>[];
  }

  it('counts a study in flight while it runs, and out once it ends', async () => {
    let release!: () => void;
    const running = tracer.study({ model }, (trace) =>
      trace.step('analyze', () => new Promise<void>((resolve) => (release = resolve))),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect((await points(M.inFlight)).map((p) => p.value)).toEqual([1]);
    release();
    await running;
    expect((await points(M.inFlight)).map((p) => p.value)).toEqual([0]);
  });

  it('counts runs by outcome and failure code, and times each step by name', async () => {
    const controller = new AbortController();
    await tracer.study({ model }, (trace) => trace.step('fetchStudy', async () => 'ok'));
    const fail = (error: Error, signal?: AbortSignal) =>
      tracer
        .study({ model, ...(signal ? { signal } : {}) }, (trace) =>
          trace.step('storeObjects', async () => {
            throw error;
          }),
        )
        .catch(() => undefined);
    await fail(new PermanentError('CORRUPT_INSTANCE', 'bad pixel data'));
    await fail(new TransientError('archive answered 503'));
    controller.abort(new Error('shutdown deadline passed'));
    await fail(new Error('shutdown deadline passed'), controller.signal);

    const processed = (await points(M.processed)).map((p) => ({ ...p.attributes, count: p.value }));
    const base = { [A.modelId]: 'test-model', [A.modelVersion]: '2.1.0', count: 1 };
    expect(processed).toEqual(
      expect.arrayContaining([
        { ...base, [A.outcome]: 'completed' },
        { ...base, [A.outcome]: 'failed', [A.failureCode]: 'CORRUPT_INSTANCE' },
        { ...base, [A.outcome]: 'retryable', [A.failureCode]: 'RETRIES_EXHAUSTED' },
        { ...base, [A.outcome]: 'interrupted' },
      ]),
    );
    expect(processed).toHaveLength(4);

    const steps = (await points(M.stepDuration)).map((p) => ({ ...p.attributes, count: (p.value as Histogram).count }));
    expect(steps).toEqual(
      expect.arrayContaining([
        { [A.step]: 'fetchStudy', [A.outcome]: 'ok', count: 1 },
        { [A.step]: 'storeObjects', [A.outcome]: 'error', count: 3 },
      ]),
    );
    expect((await points(M.studyDuration)).reduce((n, p) => n + (p.value as Histogram).count, 0)).toBe(4);

    // An interrupted run is not an error of the study: no error status, no failure code.
    const studies = exporter.getFinishedSpans().filter((s) => s.name === STUDY_SPAN);
    const interrupted = studies.find((s) => s.attributes[A.outcome] === 'interrupted')!;
    expect(interrupted.status.code).toBe(SpanStatusCode.UNSET);
    expect(interrupted.attributes[A.failureCode]).toBeUndefined();
    expect(studies.filter((s) => s.status.code === SpanStatusCode.ERROR).map((s) => s.attributes[A.outcome])).toEqual([
      'failed',
      'retryable',
    ]);
  });

  it('hands back what the run returns, and rethrows what it throws, unchanged', async () => {
    await expect(tracer.study({ model }, async () => 42)).resolves.toBe(42);
    const error = new PermanentError('NO_USABLE_SERIES', 'no axial CT');
    await expect(tracer.study({ model }, async () => Promise.reject(error))).rejects.toBe(error);
  });
});
