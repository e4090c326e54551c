import { z } from 'zod';
import { ConfigError } from './app-config.js';
import { httpAuth, httpAuthFields, httpAuthProblems, type HttpAuth } from './http-auth.js';
import {
  CLOUD_SOURCE_KINDS,
  cloudSource,
  cloudSourceFields,
  cloudSourceProblems,
  type CloudSource,
  type CloudSourceKind,
} from './intake-cloud-sources.js';
import { kafkaSecurity, kafkaSecurityFields, kafkaSecurityProblems, type KafkaSecurity } from './kafka-security.js';

/**
 * The intake's configuration (apps/intake, docs/intake.md), read once at start-up. One process
 * watches one store through one source; the settings it shares with the worker (Kafka, the
 * archive's DICOMweb root and credentials, the model manifest) have the worker's names, so one
 * deployment's values serve both.
 */

export const INTAKE_SOURCE_KINDS = ['orthanc', 'qido', ...CLOUD_SOURCE_KINDS] as const;
export type IntakeSourceKind = (typeof INTAKE_SOURCE_KINDS)[number];

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
const port = z.coerce.number().int().min(0).max(65535);
const topic = z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, 'must be a valid Kafka topic name');
const milliseconds = z.coerce
  .number()
  .int()
  .min(0)
  .max(30 * 24 * 3600 * 1000);

const intakeSchema = z
  .object({
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'verbose']).default('info'),
    HTTP_PORT: port.default(3001),

    KAFKA_BROKERS: z
      .string()
      .transform((value) => value.split(',').map((item) => item.trim()))
      .pipe(z.array(z.string().min(1)).min(1))
      .default(['127.0.0.1:19092']),
    KAFKA_CLIENT_ID: z.string().min(1).default('covid-ct-triage-intake'),
    KAFKA_TOPIC_STUDY_AVAILABLE: topic.default('triage.study-available.v1'),
    /** Compacted, one partition: pending studies, published versions and the source's cursor. */
    INTAKE_STATE_TOPIC: topic.default('triage.intake-state.v1'),
    /** One per store: a second process with the same id fences the first one's transactions. */
    INTAKE_TRANSACTIONAL_ID: z.string().min(1).max(200).optional(),
    ...kafkaSecurityFields,

    INTAKE_SOURCE: z.enum(INTAKE_SOURCE_KINDS, { error: `must be one of ${INTAKE_SOURCE_KINDS.join(', ')}` }),
    /** The store's name in state keys, logs, metrics and StudyAvailable.source. */
    INTAKE_STORE: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'must be lowercase letters, digits and dashes (at most 40)')
      .default('archive'),
    /** Orthanc's REST root (INTAKE_SOURCE=orthanc), with the INTAKE_ORTHANC_AUTH family of credentials. */
    INTAKE_ORTHANC_URL: httpUrl.optional(),
    ...httpAuthFields('INTAKE_ORTHANC'),

    DICOMWEB_BASE_URL: httpUrl.default('http://127.0.0.1:18042/dicom-web'),
    ...httpAuthFields('DICOMWEB'),
    DICOMWEB_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
    ALLOW_INSECURE_HTTP: z.enum(['true', 'false'], { error: 'must be true or false' }).default('false'),
    HTTPS_CA_FILE: z.string().min(1).optional(),
    /** Our own SEG and SR series are recognised by the model's id and version (@app/pipeline ownOutputSeries). */
    MODEL_MANIFEST: z.string().min(1).default('models/covid-triage-demo/manifest.json'),

    INTAKE_QUIET_PERIOD_MS: milliseconds.default(10_000),
    INTAKE_MAX_WAIT_MS: milliseconds.default(10 * 60_000),
    INTAKE_ABANDON_AFTER_MS: milliseconds.default(24 * 3600_000),
    INTAKE_MAX_PENDING_STUDIES: z.coerce.number().int().min(1).max(1_000_000).default(1_000),
    INTAKE_REMEMBER_PUBLISHED_MS: milliseconds.default(7 * 24 * 3600_000),
    INTAKE_MAX_REMEMBERED_STUDIES: z.coerce.number().int().min(1).max(10_000_000).default(100_000),
    INTAKE_POLL_INTERVAL_MS: z.coerce.number().int().min(50).max(3600_000).default(1_000),
    INTAKE_TICK_MS: z.coerce.number().int().min(20).max(60_000).default(500),
    /** QIDO poller: days of StudyDate before today searched again on every poll (the overlap). */
    INTAKE_QIDO_LOOKBACK_DAYS: z.coerce.number().int().min(0).max(30).default(1),
    ...cloudSourceFields,
  })
  .superRefine((env, ctx) => {
    const add = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    const allowInsecureHttp = env.ALLOW_INSECURE_HTTP === 'true';
    for (const { path, message } of kafkaSecurityProblems(env, { allowInsecureHttp })) add(path, message);
    for (const { path, message } of httpAuthProblems('DICOMWEB', env, {
      serverUrl: env.DICOMWEB_BASE_URL,
      allowInsecureHttp,
    })) {
      add(path, message);
    }
    if (env.INTAKE_SOURCE === 'orthanc') {
      if (!env.INTAKE_ORTHANC_URL) add('INTAKE_ORTHANC_URL', 'is required with INTAKE_SOURCE=orthanc');
      const serverUrl = env.INTAKE_ORTHANC_URL ?? 'https://unset';
      for (const { path, message } of httpAuthProblems('INTAKE_ORTHANC', env, { serverUrl, allowInsecureHttp })) {
        add(path, message);
      }
    }
    if (isCloudSource(env.INTAKE_SOURCE)) {
      for (const { path, message } of cloudSourceProblems(env.INTAKE_SOURCE, env)) add(path, message);
    }
    if (env.INTAKE_QUIET_PERIOD_MS < 100) add('INTAKE_QUIET_PERIOD_MS', 'must be at least 100');
    if (env.INTAKE_MAX_WAIT_MS < env.INTAKE_QUIET_PERIOD_MS) {
      add('INTAKE_MAX_WAIT_MS', 'must be at least INTAKE_QUIET_PERIOD_MS');
    }
    if (env.INTAKE_ABANDON_AFTER_MS <= env.INTAKE_MAX_WAIT_MS) {
      add('INTAKE_ABANDON_AFTER_MS', 'must exceed INTAKE_MAX_WAIT_MS');
    }
  });

export interface IntakeConfig {
  logLevel: z.infer<typeof intakeSchema>['LOG_LEVEL'];
  httpPort: number;
  kafka: {
    brokers: string[];
    clientId: string;
    security: KafkaSecurity;
    studyAvailableTopic: string;
    stateTopic: string;
    transactionalId: string;
  };
  source:
    | { kind: 'orthanc'; store: string; orthancUrl: string; auth: HttpAuth }
    | { kind: 'qido'; store: string; lookbackDays: number }
    | CloudSource;
  dicomweb: { baseUrl: string; auth: HttpAuth; timeoutMs: number };
  https: { caFile?: string };
  modelManifestPath: string;
  completion: {
    quietPeriodMs: number;
    maxWaitMs: number;
    abandonAfterMs: number;
    maxPendingStudies: number;
    rememberPublishedMs: number;
    maxRememberedStudies: number;
  };
  pollIntervalMs: number;
  tickMs: number;
}

/** Validates an environment into the intake's configuration, or throws ConfigError naming each bad variable. */
export function parseIntakeConfig(environment: Record<string, string | undefined>): IntakeConfig {
  const present = Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== ''));
  const result = intakeSchema.safeParse(present);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`));
  }
  const env = result.data;
  const store = env.INTAKE_STORE;
  return {
    logLevel: env.LOG_LEVEL,
    httpPort: env.HTTP_PORT,
    kafka: {
      brokers: env.KAFKA_BROKERS,
      clientId: env.KAFKA_CLIENT_ID,
      security: kafkaSecurity(env),
      studyAvailableTopic: env.KAFKA_TOPIC_STUDY_AVAILABLE,
      stateTopic: env.INTAKE_STATE_TOPIC,
      transactionalId: env.INTAKE_TRANSACTIONAL_ID ?? `covid-ct-triage-intake-${store}`,
    },
    source: isCloudSource(env.INTAKE_SOURCE)
      ? cloudSource(env.INTAKE_SOURCE, store, env, env.DICOMWEB_BASE_URL)
      : env.INTAKE_SOURCE === 'orthanc'
        ? {
            kind: 'orthanc',
            store,
            orthancUrl: env.INTAKE_ORTHANC_URL!.replace(/\/+$/, ''),
            auth: httpAuth('INTAKE_ORTHANC', env),
          }
        : { kind: 'qido', store, lookbackDays: env.INTAKE_QIDO_LOOKBACK_DAYS },
    dicomweb: {
      baseUrl: env.DICOMWEB_BASE_URL.replace(/\/+$/, ''),
      auth: httpAuth('DICOMWEB', env),
      timeoutMs: env.DICOMWEB_TIMEOUT_MS,
    },
    https: env.HTTPS_CA_FILE === undefined ? {} : { caFile: env.HTTPS_CA_FILE },
    modelManifestPath: env.MODEL_MANIFEST,
    completion: {
      quietPeriodMs: env.INTAKE_QUIET_PERIOD_MS,
      maxWaitMs: env.INTAKE_MAX_WAIT_MS,
      abandonAfterMs: env.INTAKE_ABANDON_AFTER_MS,
      maxPendingStudies: env.INTAKE_MAX_PENDING_STUDIES,
      rememberPublishedMs: env.INTAKE_REMEMBER_PUBLISHED_MS,
      maxRememberedStudies: env.INTAKE_MAX_REMEMBERED_STUDIES,
    },
    pollIntervalMs: env.INTAKE_POLL_INTERVAL_MS,
    tickMs: env.INTAKE_TICK_MS,
  };
}

/** The intake's one read of the process environment. */
export function loadIntakeConfigFromEnvironment(): IntakeConfig {
  return parseIntakeConfig(process.env);
}

function isCloudSource(kind: string): kind is CloudSourceKind {
  return (CLOUD_SOURCE_KINDS as readonly string[]).includes(kind);
}
