import { z } from 'zod';

/**
 * The service's whole configuration, read once from the environment at start-up.
 * Defaults point at the local test stack (`npm run stack:up`); a deployment sets
 * every URL. Secrets (passwords, tokens) only ever come from the environment.
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
const port = z.coerce.number().int().min(1).max(65535);
const topic = z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, 'must be a valid Kafka topic name');

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

    DICOMWEB_BASE_URL: httpUrl.default('http://127.0.0.1:18042/dicom-web'),
    DICOMWEB_AUTH: z.enum(['none', 'basic', 'bearer']).default('none'),
    DICOMWEB_USERNAME: z.string().optional(),
    DICOMWEB_PASSWORD: z.string().optional(),
    DICOMWEB_TOKEN: z.string().optional(),
    DICOMWEB_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),

    FHIR_BASE_URL: httpUrl.default('http://127.0.0.1:18080/fhir'),
  })
  .superRefine((env, ctx) => {
    if (env.DICOMWEB_AUTH === 'basic' && !(env.DICOMWEB_USERNAME && env.DICOMWEB_PASSWORD)) {
      ctx.addIssue({
        code: 'custom',
        path: ['DICOMWEB_USERNAME'],
        message: 'DICOMWEB_AUTH=basic needs DICOMWEB_USERNAME and DICOMWEB_PASSWORD',
      });
    }
    if (env.DICOMWEB_AUTH === 'bearer' && !env.DICOMWEB_TOKEN) {
      ctx.addIssue({
        code: 'custom',
        path: ['DICOMWEB_TOKEN'],
        message: 'DICOMWEB_AUTH=bearer needs DICOMWEB_TOKEN',
      });
    }
  });

export type DicomwebAuth =
  { kind: 'none' } | { kind: 'basic'; username: string; password: string } | { kind: 'bearer'; token: string };

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
  };
  dicomweb: { baseUrl: string; auth: DicomwebAuth; timeoutMs: number };
  fhir: { baseUrl: string };
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
    },
    dicomweb: {
      baseUrl: env.DICOMWEB_BASE_URL.replace(/\/+$/, ''),
      auth: dicomwebAuth(env),
      timeoutMs: env.DICOMWEB_TIMEOUT_MS,
    },
    fhir: { baseUrl: env.FHIR_BASE_URL.replace(/\/+$/, '') },
  };
}

function dicomwebAuth(env: z.infer<typeof environmentSchema>): DicomwebAuth {
  switch (env.DICOMWEB_AUTH) {
    case 'basic':
      return {
        kind: 'basic',
        username: env.DICOMWEB_USERNAME!,
        password: env.DICOMWEB_PASSWORD!,
      };
    case 'bearer':
      return { kind: 'bearer', token: env.DICOMWEB_TOKEN! };
    case 'none':
      return { kind: 'none' };
  }
}

/** The one place the process environment is read. */
export function loadConfigFromEnvironment(): AppConfig {
  return parseConfig(process.env);
}
