import { describe, expect, it } from 'vitest';
import { ConfigError, otelEnvironment, parseConfig } from './app-config.js';

describe('parseConfig', () => {
  it('defaults to the local test stack', () => {
    const config = parseConfig({});
    expect(config.kafka.brokers).toEqual(['127.0.0.1:19092']);
    expect(config.dicomweb).toEqual({
      baseUrl: 'http://127.0.0.1:18042/dicom-web',
      auth: { kind: 'none' },
      timeoutMs: 30_000,
    });
    expect(config.kafka.topics.studyAvailable).toBe('triage.study-available.v1');
  });

  it('parses lists, numbers and strips trailing slashes', () => {
    const config = parseConfig({
      KAFKA_BROKERS: 'a:9092, b:9092,',
      HTTP_PORT: '8081',
      FHIR_BASE_URL: 'https://fhir.example.org/r4/',
    });
    expect(config.kafka.brokers).toEqual(['a:9092', 'b:9092']);
    expect(config.httpPort).toBe(8081);
    expect(config.fhir.baseUrl).toBe('https://fhir.example.org/r4');
  });

  it('treats an empty variable as unset', () => {
    expect(parseConfig({ HTTP_PORT: '' }).httpPort).toBe(3000);
  });

  it('names every bad variable at once', () => {
    let error: unknown;
    try {
      parseConfig({
        HTTP_PORT: 'eighty',
        DICOMWEB_BASE_URL: 'ftp://x',
        KAFKA_TOPIC_DEAD_LETTER: 'bad topic',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/HTTP_PORT/);
    expect(problems).toMatch(/DICOMWEB_BASE_URL/);
    expect(problems).toMatch(/KAFKA_TOPIC_DEAD_LETTER/);
  });

  it('requires credentials for the chosen DICOMweb authentication', () => {
    const plain = { ALLOW_INSECURE_HTTP: 'true' };
    expect(() => parseConfig({ ...plain, DICOMWEB_AUTH: 'basic', DICOMWEB_USERNAME: 'u' })).toThrow(
      /DICOMWEB_PASSWORD/,
    );
    expect(() => parseConfig({ ...plain, DICOMWEB_AUTH: 'bearer' })).toThrow(/DICOMWEB_TOKEN/);
    expect(parseConfig({ ...plain, DICOMWEB_AUTH: 'bearer', DICOMWEB_TOKEN: 't' }).dicomweb.auth).toEqual({
      kind: 'bearer',
      token: { value: 't' },
    });
  });

  it('refuses the old FHIR_BEARER_TOKEN rather than ignoring it', () => {
    expect(() => parseConfig({ FHIR_BEARER_TOKEN: 'x' })).toThrow(
      /FHIR_BEARER_TOKEN: was renamed: set FHIR_AUTH=bearer/,
    );
  });

  it('gives the worker and inference settings safe defaults', () => {
    const config = parseConfig({});
    expect(config.inference).toEqual({
      manifestPath: 'models/covid-triage-demo/manifest.json',
      executionProviders: ['cpu'],
      batchSlices: 16,
      allowCpuFallback: false,
    });
    expect(config.worker.concurrency).toBe(1);
    expect(config.worker.retry.attempts).toBeGreaterThan(1);
    expect(config.kafka.sessionTimeoutMs).toBe(30_000);
    expect(config.fhir.identifierSystem).toBe('https://covid-ct-triage.example.org/fhir/identifier');
  });

  it('reads the worker and inference settings', () => {
    const config = parseConfig({
      INFERENCE_EXECUTION_PROVIDERS: 'cuda, cpu',
      INFERENCE_THREADS: '4',
      WORKER_CONCURRENCY: '2',
      WORKER_MEMORY_BUDGET_MB: '2048',
      KAFKA_SESSION_TIMEOUT_MS: '10000',
      KAFKA_HEARTBEAT_INTERVAL_MS: '1000',
      SHUTDOWN_DEADLINE_MS: '5000',
      FHIR_IDENTIFIER_SYSTEM: 'urn:example:triage/',
    });
    expect(config.inference.executionProviders).toEqual(['cuda', 'cpu']);
    expect(config.inference.intraOpThreads).toBe(4);
    expect(config.worker).toMatchObject({ concurrency: 2, memoryBudgetMb: 2048, shutdownDeadlineMs: 5000 });
    expect(config.kafka).toMatchObject({ sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000 });
    expect(config.fhir.identifierSystem).toBe('urn:example:triage');
  });

  it.each([
    ['INFERENCE_EXECUTION_PROVIDERS', { INFERENCE_EXECUTION_PROVIDERS: 'cpu,tpu' }],
    ['WORKER_CONCURRENCY', { WORKER_CONCURRENCY: '0' }],
    ['INFERENCE_THREADS', { INFERENCE_THREADS: 'many' }],
    ['WORKER_MEMORY_BUDGET_MB', { WORKER_MEMORY_BUDGET_MB: '-1' }],
    ['KAFKA_SESSION_TIMEOUT_MS', { KAFKA_SESSION_TIMEOUT_MS: '1000' }],
    ['KAFKA_HEARTBEAT_INTERVAL_MS', { KAFKA_SESSION_TIMEOUT_MS: '10000', KAFKA_HEARTBEAT_INTERVAL_MS: '5000' }],
    ['WORKER_RETRY_INITIAL_DELAY_MS', { WORKER_RETRY_INITIAL_DELAY_MS: '9000', WORKER_RETRY_MAX_DELAY_MS: '100' }],
    ['SHUTDOWN_DEADLINE_MS', { SHUTDOWN_DEADLINE_MS: 'soon' }],
    ['FHIR_IDENTIFIER_SYSTEM', { FHIR_IDENTIFIER_SYSTEM: 'not a uri' }],
  ])('refuses a bad %s, naming it', (name, environment) => {
    expect(() => parseConfig(environment)).toThrow(new RegExp(`${name}[.:]`));
  });
});

describe('otelEnvironment', () => {
  it('hands over only the OTEL_* variables (no credentials of ours)', () => {
    const handed = otelEnvironment({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_SERVICE_NAME: 'triage',
      DICOMWEB_PASSWORD: 'secret',
      OTEL_TRACES_EXPORTER: undefined,
    });
    expect(handed).toEqual({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SERVICE_NAME: 'triage' });
  });
});
