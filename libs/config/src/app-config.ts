import { z } from 'zod';
import { httpAuth, httpAuthFields, httpAuthProblems, type HttpAuth } from './http-auth.js';
import { kafkaSecurity, kafkaSecurityFields, kafkaSecurityProblems, type KafkaSecurity } from './kafka-security.js';

/**
 * The service's whole configuration, read once from the environment at start-up.
 * Defaults point at the local test stack (`npm run stack:up`); a deployment sets
 * every URL. Secrets (passwords, tokens, keys) come from the environment or from files named
 * in it (…_FILE: a mounted Kubernetes Secret).
 */

const csv = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string()).min(1, 'needs at least one entry'));

const httpUrl = z.url({
  protocol: /^https?$/,
  error: 'must be an http(s) URL',
});
// 0 asks the OS for any free port (tests run several workers side by side).
const port = z.coerce.number().int().min(0).max(65535);
const topic = z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, 'must be a valid Kafka topic name');
const positiveInt = z.coerce.number().int().positive();
const milliseconds = z.coerce
  .number()
  .int()
  .min(0)
  .max(24 * 3600 * 1000);

/** The ONNX Runtime execution providers the inference library knows (see @app/inference). */
export const EXECUTION_PROVIDERS = ['cpu', 'cuda', 'tensorrt', 'dml', 'coreml', 'webgpu'] as const;
export type ExecutionProviderName = (typeof EXECUTION_PROVIDERS)[number];
const providers = csv.pipe(
  z.array(z.enum(EXECUTION_PROVIDERS, { error: `each entry must be one of ${EXECUTION_PROVIDERS.join(', ')}` })),
);

const environmentSchema = z
  .object({
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'verbose']).default('info'),
    HTTP_PORT: port.default(3000),

    KAFKA_BROKERS: csv.default(['127.0.0.1:19092']),
    KAFKA_CLIENT_ID: z.string().min(1).default('covid-ct-triage'),
    KAFKA_GROUP_ID: z.string().min(1).default('covid-ct-triage-worker'),
    KAFKA_TOPIC_STUDY_AVAILABLE: topic.default('triage.study-available.v1'),
    KAFKA_TOPIC_TRIAGE_COMPLETED: topic.default('triage.completed.v1'),
    KAFKA_TOPIC_TRIAGE_FAILED: topic.default('triage.failed.v1'),
    KAFKA_TOPIC_DEAD_LETTER: topic.default('triage.dead-letter.v1'),
    // The broker declares a consumer dead after this long without a heartbeat; the worker
    // heartbeats while a study is processed, so a long study never triggers a rebalance.
    KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).max(3_600_000).default(30_000),
    KAFKA_HEARTBEAT_INTERVAL_MS: z.coerce.number().int().min(100).default(3_000),
    ...kafkaSecurityFields,

    DICOMWEB_BASE_URL: httpUrl.default('http://127.0.0.1:18042/dicom-web'),
    ...httpAuthFields('DICOMWEB'),
    DICOMWEB_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),

    FHIR_BASE_URL: httpUrl.default('http://127.0.0.1:18080/fhir'),
    FHIR_TIMEOUT_MS: positiveInt.default(30_000),
    ...httpAuthFields('FHIR'),
    // Renamed: refused rather than ignored, so an old deployment does not write unauthenticated.
    FHIR_BEARER_TOKEN: z
      .never({ error: 'was renamed: set FHIR_AUTH=bearer and FHIR_TOKEN (or FHIR_TOKEN_FILE)' })
      .optional(),
    /** Credentials over plain http:// are refused unless this is a test bench (the local stack sets it). */
    ALLOW_INSECURE_HTTP: z.enum(['true', 'false'], { error: 'must be true or false' }).default('false'),
    /** PEM bundle of CAs trusted, besides the system's, by every HTTPS client (DICOMweb, FHIR, token endpoints, OTLP). */
    HTTPS_CA_FILE: z.string().min(1).optional(),
    /** Our base identifier system (a URI we own): report, observation and device identifiers hang below it. */
    FHIR_IDENTIFIER_SYSTEM: z
      .string()
      .regex(/^(https?:\/\/\S+|urn:[a-z0-9][a-z0-9-]{0,31}:\S+)$/i, 'must be an absolute URI (http(s) or urn)')
      .default('https://covid-ct-triage.example.org/fhir/identifier'),

    MODEL_MANIFEST: z.string().min(1).default('models/covid-triage-demo/manifest.json'),
    INFERENCE_EXECUTION_PROVIDERS: providers.default(['cpu']),
    INFERENCE_THREADS: z.coerce.number().int().min(1).max(256).optional(),
    INFERENCE_BATCH_SLICES: z.coerce.number().int().min(1).max(1024).default(16),
    /** A GPU provider that fails to load makes the worker unready, unless running on CPU is accepted. */
    INFERENCE_ALLOW_CPU_FALLBACK: z.enum(['true', 'false'], { error: 'must be true or false' }).default('false'),

    /** Studies processed at once by one worker process. */
    WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
    /** Threads that decode frames (their memory is outside WORKER_MEMORY_BUDGET_MB); default one per core. */
    WORKER_DECODE_THREADS: z.coerce.number().int().min(1).max(64).optional(),
    /** Memory the studies in flight may use together; a study waits until its estimate fits. */
    WORKER_MEMORY_BUDGET_MB: z.coerce.number().int().min(64).default(4096),
    /** Attempts for a transiently failing study (archive, FHIR or broker down) before TriageFailed. */
    WORKER_RETRY_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
    WORKER_RETRY_INITIAL_DELAY_MS: milliseconds.default(1_000),
    WORKER_RETRY_MAX_DELAY_MS: milliseconds.default(60_000),
    /** On SIGTERM, how long a study in flight may take to finish before it is left uncommitted. */
    SHUTDOWN_DEADLINE_MS: milliseconds.default(30_000),
    /** The longest one study may take, its retries included; then it is parked (a stalled archive). */
    WORKER_STUDY_DEADLINE_MS: milliseconds.default(30 * 60_000),
    /** Deliveries of one message that a worker process died during (OOM, crash) before it is parked. */
    WORKER_MAX_DELIVERIES: z.coerce.number().int().min(1).max(100).default(3),
  })
  .superRefine((env, ctx) => {
    const allowInsecure = env.ALLOW_INSECURE_HTTP === 'true';
    for (const { path, message } of kafkaSecurityProblems(env, { allowInsecureHttp: allowInsecure })) {
      ctx.addIssue({ code: 'custom', path: [path], message });
    }
    if (env.KAFKA_HEARTBEAT_INTERVAL_MS * 3 > env.KAFKA_SESSION_TIMEOUT_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['KAFKA_HEARTBEAT_INTERVAL_MS'],
        message: 'must be at most a third of KAFKA_SESSION_TIMEOUT_MS',
      });
    }
    if (env.WORKER_RETRY_INITIAL_DELAY_MS > env.WORKER_RETRY_MAX_DELAY_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['WORKER_RETRY_INITIAL_DELAY_MS'],
        message: 'must not exceed WORKER_RETRY_MAX_DELAY_MS',
      });
    }
    const allowInsecureHttp = env.ALLOW_INSECURE_HTTP === 'true';
    for (const [prefix, serverUrl] of [
      ['DICOMWEB', env.DICOMWEB_BASE_URL],
      ['FHIR', env.FHIR_BASE_URL],
    ] as const) {
      for (const { path, message } of httpAuthProblems(prefix, env, { serverUrl, allowInsecureHttp })) {
        ctx.addIssue({ code: 'custom', path: [path], message });
      }
    }
  });

export interface AppConfig {
  logLevel: z.infer<typeof environmentSchema>['LOG_LEVEL'];
  httpPort: number;
  kafka: {
    brokers: string[];
    clientId: string;
    groupId: string;
    topics: {
      studyAvailable: string;
      triageCompleted: string;
      triageFailed: string;
      deadLetter: string;
    };
    sessionTimeoutMs: number;
    heartbeatIntervalMs: number;
    /** TLS and SASL (KAFKA_SECURITY_PROTOCOL and friends); files are read by @app/messaging. */
    security: KafkaSecurity;
  };
  dicomweb: { baseUrl: string; auth: HttpAuth; timeoutMs: number };
  fhir: { baseUrl: string; auth: HttpAuth; timeoutMs: number; identifierSystem: string };
  /** HTTPS trust shared by every HTTP client; Kafka has its own (kafka.security). */
  https: { caFile?: string };
  inference: {
    manifestPath: string;
    executionProviders: ExecutionProviderName[];
    intraOpThreads?: number;
    batchSlices: number;
    /** Whether CPU may stand in for a configured GPU provider that failed to load. */
    allowCpuFallback: boolean;
  };
  worker: {
    concurrency: number;
    /** Frame decoding threads; undefined: one per core. */
    decodeThreads?: number;
    memoryBudgetMb: number;
    retry: { attempts: number; initialDelayMs: number; maxDelayMs: number };
    shutdownDeadlineMs: number;
    /** A message whose earlier deliveries ended with the process dying this often is parked unprocessed. */
    maxDeliveries: number;
    /** The longest one study may take, its retries included. */
    studyDeadlineMs: number;
  };
}

/** A configuration value is wrong; the message names every offending variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Environment = Record<string, string | undefined>;

/** Validates an environment into the typed configuration, or throws ConfigError naming each bad variable. */
export function parseConfig(environment: Environment): AppConfig {
  // An empty variable means "not set", as in most deployment tools.
  const present = Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== ''));
  const result = environmentSchema.safeParse(present);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`));
  }
  const env = result.data;
  return {
    logLevel: env.LOG_LEVEL,
    httpPort: env.HTTP_PORT,
    kafka: {
      brokers: env.KAFKA_BROKERS,
      clientId: env.KAFKA_CLIENT_ID,
      groupId: env.KAFKA_GROUP_ID,
      topics: {
        studyAvailable: env.KAFKA_TOPIC_STUDY_AVAILABLE,
        triageCompleted: env.KAFKA_TOPIC_TRIAGE_COMPLETED,
        triageFailed: env.KAFKA_TOPIC_TRIAGE_FAILED,
        deadLetter: env.KAFKA_TOPIC_DEAD_LETTER,
      },
      sessionTimeoutMs: env.KAFKA_SESSION_TIMEOUT_MS,
      heartbeatIntervalMs: env.KAFKA_HEARTBEAT_INTERVAL_MS,
      security: kafkaSecurity(env),
    },
    dicomweb: {
      baseUrl: env.DICOMWEB_BASE_URL.replace(/\/+$/, ''),
      auth: httpAuth('DICOMWEB', env),
      timeoutMs: env.DICOMWEB_TIMEOUT_MS,
    },
    fhir: {
      baseUrl: env.FHIR_BASE_URL.replace(/\/+$/, ''),
      auth: httpAuth('FHIR', env),
      timeoutMs: env.FHIR_TIMEOUT_MS,
      identifierSystem: env.FHIR_IDENTIFIER_SYSTEM.replace(/\/+$/, ''),
    },
    https: env.HTTPS_CA_FILE === undefined ? {} : { caFile: env.HTTPS_CA_FILE },
    inference: {
      manifestPath: env.MODEL_MANIFEST,
      executionProviders: env.INFERENCE_EXECUTION_PROVIDERS,
      ...(env.INFERENCE_THREADS === undefined ? {} : { intraOpThreads: env.INFERENCE_THREADS }),
      batchSlices: env.INFERENCE_BATCH_SLICES,
      allowCpuFallback: env.INFERENCE_ALLOW_CPU_FALLBACK === 'true',
    },
    worker: {
      concurrency: env.WORKER_CONCURRENCY,
      ...(env.WORKER_DECODE_THREADS === undefined ? {} : { decodeThreads: env.WORKER_DECODE_THREADS }),
      memoryBudgetMb: env.WORKER_MEMORY_BUDGET_MB,
      retry: {
        attempts: env.WORKER_RETRY_ATTEMPTS,
        initialDelayMs: env.WORKER_RETRY_INITIAL_DELAY_MS,
        maxDelayMs: env.WORKER_RETRY_MAX_DELAY_MS,
      },
      shutdownDeadlineMs: env.SHUTDOWN_DEADLINE_MS,
      maxDeliveries: env.WORKER_MAX_DELIVERIES,
      studyDeadlineMs: env.WORKER_STUDY_DEADLINE_MS,
    },
  };
}

/** The one place the process environment is read. */
export function loadConfigFromEnvironment(): AppConfig {
  return parseConfig(process.env);
}

/**
 * OpenTelemetry's own standard variables (OTEL_*), for @app/telemetry, which must start
 * before the application's configuration exists. The SDK validates and interprets them.
 */
export function otelEnvironment(
  environment: Readonly<Record<string, string | undefined>> = process.env,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(environment).filter(
      (entry): entry is [string, string] => entry[0].startsWith('OTEL_') && entry[1] !== undefined,
    ),
  );
}
