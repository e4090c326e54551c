import { z } from 'zod';
import type { SecretSource } from './secret-source.js';

/**
 * The intake's cloud sources (docs/intake.md): their settings, what cannot work, and the validated
 * value. Credentials for the platforms' DICOMweb (Google, Azure, AWS) are the DICOMWEB_AUTH family;
 * the messaging clients (Pub/Sub, SQS) use the platform SDK's own default credentials.
 */

export const CLOUD_SOURCE_KINDS = [
  'google-pubsub',
  'google-pubsub-push',
  'azure-change-feed',
  'azure-event-grid',
  'aws-healthimaging-sqs',
] as const;
export type CloudSourceKind = (typeof CLOUD_SOURCE_KINDS)[number];

/** Where a platform pushes (Pub/Sub push, Event Grid): the intake's own HTTP endpoint. */
export interface PushSettings {
  port: number;
  token: SecretSource;
}

export type CloudSource =
  | { kind: 'google-pubsub'; store: string; dicomStore: string; subscription: string; maxMessages: number }
  | { kind: 'google-pubsub-push'; store: string; dicomStore: string; push: PushSettings }
  | { kind: 'azure-change-feed'; store: string; pageSize: number }
  | { kind: 'azure-event-grid'; store: string; serviceHost: string; partition?: string; push: PushSettings }
  | {
      kind: 'aws-healthimaging-sqs';
      store: string;
      region: string;
      datastoreId: string;
      queueUrl: string;
      sqsEndpoint?: string;
      medicalImagingEndpoint?: string;
    };

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

export const cloudSourceFields = {
  /** projects/{p}/locations/{l}/datasets/{d}/dicomStores/{s} */
  INTAKE_GOOGLE_DICOM_STORE: z
    .string()
    .regex(
      /^projects\/[^/]+\/locations\/[^/]+\/datasets\/[^/]+\/dicomStores\/[^/]+$/,
      'must be a DICOM store resource name, projects/…/locations/…/datasets/…/dicomStores/…',
    )
    .optional(),
  INTAKE_PUBSUB_SUBSCRIPTION: z
    .string()
    .regex(/^projects\/[^/]+\/subscriptions\/[^/]+$/, 'must be projects/{project}/subscriptions/{name}')
    .optional(),
  INTAKE_PUBSUB_MAX_MESSAGES: z.coerce.number().int().min(1).max(10_000).default(100),
  INTAKE_AZURE_CHANGE_FEED_PAGE: z.coerce.number().int().min(1).max(200).default(200),
  /** serviceHostName in the events; default: DICOMWEB_BASE_URL's host. */
  INTAKE_AZURE_DICOM_HOST: z
    .string()
    .regex(/^[a-z0-9.-]+$/, 'must be a host name')
    .optional(),
  INTAKE_AZURE_PARTITION: z.string().min(1).max(64).optional(),
  INTAKE_AWS_REGION: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region, e.g. us-east-1')
    .optional(),
  INTAKE_AWS_DATASTORE_ID: z
    .string()
    .regex(/^[0-9a-z]{32}$/, 'must be a HealthImaging data store id (32 characters)')
    .optional(),
  INTAKE_SQS_QUEUE_URL: httpUrl.optional(),
  /** Endpoint overrides (VPC endpoints; a local emulator in tests). */
  INTAKE_SQS_ENDPOINT: httpUrl.optional(),
  INTAKE_MEDICAL_IMAGING_ENDPOINT: httpUrl.optional(),
  INTAKE_PUSH_PORT: z.coerce.number().int().min(0).max(65535).default(3002),
  INTAKE_PUSH_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  INTAKE_PUSH_TOKEN_FILE: z.string().min(1).optional(),
};

type Env = Readonly<Record<string, unknown>>;
type Problem = { path: string; message: string };

const NEEDS: Record<CloudSourceKind, readonly string[]> = {
  'google-pubsub': ['INTAKE_GOOGLE_DICOM_STORE', 'INTAKE_PUBSUB_SUBSCRIPTION'],
  'google-pubsub-push': ['INTAKE_GOOGLE_DICOM_STORE'],
  'azure-change-feed': [],
  'azure-event-grid': [],
  'aws-healthimaging-sqs': ['INTAKE_AWS_REGION', 'INTAKE_AWS_DATASTORE_ID', 'INTAKE_SQS_QUEUE_URL'],
};
const PUSHED = new Set<CloudSourceKind>(['google-pubsub-push', 'azure-event-grid']);

export function cloudSourceProblems(kind: CloudSourceKind, env: Env): Problem[] {
  const problems: Problem[] = [];
  for (const name of NEEDS[kind]) {
    if (env[name] === undefined) problems.push({ path: name, message: `is required with INTAKE_SOURCE=${kind}` });
  }
  if (PUSHED.has(kind) && (env['INTAKE_PUSH_TOKEN'] === undefined) === (env['INTAKE_PUSH_TOKEN_FILE'] === undefined)) {
    problems.push({
      path: 'INTAKE_PUSH_TOKEN',
      message: `INTAKE_SOURCE=${kind} needs exactly one of INTAKE_PUSH_TOKEN and INTAKE_PUSH_TOKEN_FILE (the push endpoint's shared token)`,
    });
  }
  return problems;
}

/** The validated source; call only when cloudSourceProblems found none. */
export function cloudSource(kind: CloudSourceKind, store: string, env: Env, dicomwebBaseUrl: string): CloudSource {
  const text = (name: string) => env[name] as string;
  const optional = (name: string, key: string) => (env[name] === undefined ? {} : { [key]: text(name) });
  const push = (): PushSettings => ({
    port: env['INTAKE_PUSH_PORT'] as number,
    token:
      env['INTAKE_PUSH_TOKEN_FILE'] !== undefined
        ? { file: text('INTAKE_PUSH_TOKEN_FILE') }
        : { value: text('INTAKE_PUSH_TOKEN') },
  });
  switch (kind) {
    case 'google-pubsub':
      return {
        kind,
        store,
        dicomStore: text('INTAKE_GOOGLE_DICOM_STORE'),
        subscription: text('INTAKE_PUBSUB_SUBSCRIPTION'),
        maxMessages: env['INTAKE_PUBSUB_MAX_MESSAGES'] as number,
      };
    case 'google-pubsub-push':
      return { kind, store, dicomStore: text('INTAKE_GOOGLE_DICOM_STORE'), push: push() };
    case 'azure-change-feed':
      return { kind, store, pageSize: env['INTAKE_AZURE_CHANGE_FEED_PAGE'] as number };
    case 'azure-event-grid':
      return {
        kind,
        store,
        serviceHost: (env['INTAKE_AZURE_DICOM_HOST'] as string | undefined) ?? new URL(dicomwebBaseUrl).hostname,
        ...optional('INTAKE_AZURE_PARTITION', 'partition'),
        push: push(),
      };
    case 'aws-healthimaging-sqs':
      return {
        kind,
        store,
        region: text('INTAKE_AWS_REGION'),
        datastoreId: text('INTAKE_AWS_DATASTORE_ID'),
        queueUrl: text('INTAKE_SQS_QUEUE_URL'),
        ...optional('INTAKE_SQS_ENDPOINT', 'sqsEndpoint'),
        ...optional('INTAKE_MEDICAL_IMAGING_ENDPOINT', 'medicalImagingEndpoint'),
      };
  }
}
