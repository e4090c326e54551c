import { z } from 'zod';
import type { SecretSource } from './secret-source.js';

/**
 * How the worker authenticates to an HTTP server (the archive's DICOMweb, the FHIR server):
 * the <PREFIX>_AUTH family of settings, the same names for each server. Files are named
 * here, never read: @app/credentials reads them, and reads them again when they change.
 */

export const HTTP_AUTH_KINDS = [
  'none',
  'basic',
  'bearer',
  'client-credentials',
  'private-key-jwt',
  'google',
  'azure',
  'aws-sigv4',
] as const;
export type HttpAuthKind = (typeof HTTP_AUTH_KINDS)[number];

/** How a client_secret travels to the token endpoint (RFC 6749 §2.3.1). */
export const CLIENT_SECRET_METHODS = ['client_secret_basic', 'client_secret_post'] as const;
export type ClientSecretMethod = (typeof CLIENT_SECRET_METHODS)[number];

/** An OAuth2 client_credentials grant at a token endpoint. */
interface OAuth2Client {
  tokenUrl: string;
  clientId: string;
  /** Space-separated, e.g. "system/DiagnosticReport.write"; omitted: the server's default for the client. */
  scope?: string;
}

export type HttpAuth =
  | { kind: 'none' }
  | { kind: 'basic'; username: string; password: SecretSource }
  | { kind: 'bearer'; token: SecretSource }
  /** OAuth2 client credentials with a client secret. */
  | ({ kind: 'client-credentials'; clientSecret: SecretSource; method: ClientSecretMethod } & OAuth2Client)
  /**
   * SMART Backend Services: the client proves itself with a JWT signed by its private key
   * (RS384 for an RSA key, ES384 for an EC P-384 key), RFC 7523.
   */
  | ({ kind: 'private-key-jwt'; privateKeyFile: string; keyId?: string } & OAuth2Client)
  /**
   * Google Cloud (Healthcare API): a service-account key file, or without one Application Default
   * Credentials (GKE Workload Identity's metadata server, GOOGLE_APPLICATION_CREDENTIALS).
   */
  | { kind: 'google'; keyFile?: string; scope: string }
  /**
   * Microsoft Entra ID (Azure DICOM service): client credentials with a secret, or without one a
   * managed identity (system-assigned, or the user-assigned one `clientId` names).
   */
  | {
      kind: 'azure';
      scope: string;
      clientId?: string;
      secret?: { tenantId: string; clientSecret: SecretSource; authorityHost?: string };
    }
  /** AWS Signature Version 4 (HealthImaging's DICOMweb), credentials from the SDK's default provider chain. */
  | { kind: 'aws-sigv4'; region: string; service: string };

/** Asked for when <P>_SCOPE is not set. */
export const GOOGLE_DEFAULT_SCOPE = 'https://www.googleapis.com/auth/cloud-healthcare';
export const AZURE_DICOM_SCOPE = 'https://dicom.healthcareapis.azure.com/.default';
export const AWS_HEALTHIMAGING_SERVICE = 'medical-imaging';

const file = z.string().min(1);
const secret = z.string().min(1);
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

const SETTINGS = [
  'AUTH',
  'USERNAME',
  'PASSWORD',
  'PASSWORD_FILE',
  'TOKEN',
  'TOKEN_FILE',
  'TOKEN_URL',
  'CLIENT_ID',
  'CLIENT_SECRET',
  'CLIENT_SECRET_FILE',
  'CLIENT_AUTH_METHOD',
  'PRIVATE_KEY_FILE',
  'KEY_ID',
  'SCOPE',
  'GOOGLE_KEY_FILE',
  'AZURE_TENANT_ID',
  'AZURE_AUTHORITY_HOST',
  'AWS_REGION',
  'AWS_SERVICE',
] as const;
type HttpAuthSetting = (typeof SETTINGS)[number];

const SCHEMAS: Record<HttpAuthSetting, z.ZodType<string>> = {
  AUTH: z.enum(HTTP_AUTH_KINDS, { error: `must be one of ${HTTP_AUTH_KINDS.join(', ')}` }),
  USERNAME: secret,
  PASSWORD: secret,
  PASSWORD_FILE: file,
  TOKEN: secret,
  TOKEN_FILE: file,
  TOKEN_URL: httpUrl,
  CLIENT_ID: secret,
  CLIENT_SECRET: secret,
  CLIENT_SECRET_FILE: file,
  CLIENT_AUTH_METHOD: z.enum(CLIENT_SECRET_METHODS, { error: `must be one of ${CLIENT_SECRET_METHODS.join(', ')}` }),
  PRIVATE_KEY_FILE: file,
  KEY_ID: secret,
  SCOPE: z
    .string()
    .regex(
      /^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/,
      'must be space-separated scope tokens (RFC 6749 §3.3)',
    ),
  GOOGLE_KEY_FILE: file,
  AZURE_TENANT_ID: z.string().regex(/^[A-Za-z0-9.-]{1,100}$/, 'must be a tenant id (GUID) or domain'),
  AZURE_AUTHORITY_HOST: z.url({ protocol: /^https$/, error: 'must be an https URL' }),
  AWS_REGION: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region, e.g. us-east-1'),
  AWS_SERVICE: z.string().regex(/^[a-z0-9-]{1,64}$/, 'must be an AWS signing name, e.g. medical-imaging'),
};

/** The settings of one server, e.g. httpAuthFields('FHIR') → FHIR_AUTH, FHIR_CLIENT_ID, … */
export function httpAuthFields<P extends string>(prefix: P) {
  return Object.fromEntries(
    SETTINGS.map((setting) => [`${prefix}_${setting}`, SCHEMAS[setting].optional()]),
  ) as unknown as Record<`${P}_${HttpAuthSetting}`, z.ZodOptional<z.ZodType<string>>>;
}

/** Which settings each kind reads; any other one that is set means the kind was mistaken. */
const USED_BY: Record<HttpAuthKind, readonly HttpAuthSetting[]> = {
  none: [],
  basic: ['USERNAME', 'PASSWORD', 'PASSWORD_FILE'],
  bearer: ['TOKEN', 'TOKEN_FILE'],
  'client-credentials': [
    'TOKEN_URL',
    'CLIENT_ID',
    'CLIENT_SECRET',
    'CLIENT_SECRET_FILE',
    'CLIENT_AUTH_METHOD',
    'SCOPE',
  ],
  'private-key-jwt': ['TOKEN_URL', 'CLIENT_ID', 'PRIVATE_KEY_FILE', 'KEY_ID', 'SCOPE'],
  google: ['GOOGLE_KEY_FILE', 'SCOPE'],
  azure: ['AZURE_TENANT_ID', 'CLIENT_ID', 'CLIENT_SECRET', 'CLIENT_SECRET_FILE', 'AZURE_AUTHORITY_HOST', 'SCOPE'],
  'aws-sigv4': ['AWS_REGION', 'AWS_SERVICE'],
};

type Problem = { path: string; message: string };
type Settings = Readonly<Record<string, unknown>>;

/**
 * What cannot work for one server: missing or doubled secrets, a setting the kind ignores,
 * and credentials that would cross the network in the clear (an http:// server or token
 * endpoint) unless ALLOW_INSECURE_HTTP says this is a test bench.
 */
export function httpAuthProblems(
  prefix: string,
  env: Settings,
  options: { serverUrl: string; allowInsecureHttp: boolean },
): Problem[] {
  const problems: Problem[] = [];
  const name = (setting: HttpAuthSetting) => `${prefix}_${setting}`;
  const value = (setting: HttpAuthSetting) => stringSetting(env, name(setting));
  const kind = (value('AUTH') ?? 'none') as HttpAuthKind;
  const needs = (setting: HttpAuthSetting) => {
    if (value(setting) === undefined) {
      problems.push({ path: name(setting), message: `${name('AUTH')}=${kind} needs ${name(setting)}` });
    }
  };
  const exactlyOne = (inline: HttpAuthSetting, fromFile: HttpAuthSetting) => {
    if ((value(inline) === undefined) === (value(fromFile) === undefined)) {
      problems.push({
        path: name(inline),
        message: `${name('AUTH')}=${kind} needs exactly one of ${name(inline)} and ${name(fromFile)}`,
      });
    }
  };

  for (const setting of SETTINGS) {
    if (setting !== 'AUTH' && value(setting) !== undefined && !USED_BY[kind].includes(setting)) {
      problems.push({ path: name(setting), message: `is not used with ${name('AUTH')}=${kind}` });
    }
  }
  switch (kind) {
    case 'none':
      return problems;
    case 'basic':
      needs('USERNAME');
      if (value('USERNAME')?.includes(':')) {
        problems.push({ path: name('USERNAME'), message: 'a basic-auth user name cannot contain ":"' });
      }
      exactlyOne('PASSWORD', 'PASSWORD_FILE');
      break;
    case 'bearer':
      exactlyOne('TOKEN', 'TOKEN_FILE');
      break;
    case 'client-credentials':
      needs('TOKEN_URL');
      needs('CLIENT_ID');
      exactlyOne('CLIENT_SECRET', 'CLIENT_SECRET_FILE');
      break;
    case 'private-key-jwt':
      needs('TOKEN_URL');
      needs('CLIENT_ID');
      needs('PRIVATE_KEY_FILE');
      break;
    case 'google':
      break;
    case 'azure':
      // A secret means client credentials (tenant and client id needed); none, a managed identity.
      if (value('CLIENT_SECRET') !== undefined && value('CLIENT_SECRET_FILE') !== undefined) {
        exactlyOne('CLIENT_SECRET', 'CLIENT_SECRET_FILE');
      }
      if (value('CLIENT_SECRET') !== undefined || value('CLIENT_SECRET_FILE') !== undefined) {
        needs('AZURE_TENANT_ID');
        needs('CLIENT_ID');
      } else {
        for (const setting of ['AZURE_TENANT_ID', 'AZURE_AUTHORITY_HOST'] as const) {
          if (value(setting) !== undefined) {
            problems.push({
              path: name(setting),
              message: `is only used with a client secret; ${name('AUTH')}=azure without one is a managed identity`,
            });
          }
        }
      }
      break;
    case 'aws-sigv4':
      needs('AWS_REGION');
      break;
  }
  if (!options.allowInsecureHttp) {
    const plain = [
      [`${prefix}_BASE_URL`, options.serverUrl],
      [name('TOKEN_URL'), value('TOKEN_URL')],
    ].filter(([, url]) => url?.startsWith('http:'));
    for (const [setting] of plain) {
      problems.push({
        path: setting!,
        message: `is http://, so ${name('AUTH')}=${kind} would send credentials in the clear; use https, or set ALLOW_INSECURE_HTTP=true on a test bench`,
      });
    }
  }
  return problems;
}

/** The validated settings as one value; call only when httpAuthProblems found none. */
export function httpAuth(prefix: string, env: Settings): HttpAuth {
  const value = (setting: HttpAuthSetting) => stringSetting(env, `${prefix}_${setting}`);
  const secretSource = (inline: HttpAuthSetting, fromFile: HttpAuthSetting): SecretSource =>
    value(fromFile) !== undefined ? { file: value(fromFile)! } : { value: value(inline)! };
  const client = (): OAuth2Client => ({
    tokenUrl: value('TOKEN_URL')!,
    clientId: value('CLIENT_ID')!,
    ...(value('SCOPE') === undefined ? {} : { scope: value('SCOPE')! }),
  });
  const kind = (value('AUTH') ?? 'none') as HttpAuthKind;
  switch (kind) {
    case 'none':
      return { kind };
    case 'basic':
      return { kind, username: value('USERNAME')!, password: secretSource('PASSWORD', 'PASSWORD_FILE') };
    case 'bearer':
      return { kind, token: secretSource('TOKEN', 'TOKEN_FILE') };
    case 'client-credentials':
      return {
        kind,
        ...client(),
        clientSecret: secretSource('CLIENT_SECRET', 'CLIENT_SECRET_FILE'),
        method: (value('CLIENT_AUTH_METHOD') ?? 'client_secret_basic') as ClientSecretMethod,
      };
    case 'private-key-jwt':
      return {
        kind,
        ...client(),
        privateKeyFile: value('PRIVATE_KEY_FILE')!,
        ...(value('KEY_ID') === undefined ? {} : { keyId: value('KEY_ID')! }),
      };
    case 'google':
      return {
        kind,
        scope: value('SCOPE') ?? GOOGLE_DEFAULT_SCOPE,
        ...(value('GOOGLE_KEY_FILE') === undefined ? {} : { keyFile: value('GOOGLE_KEY_FILE')! }),
      };
    case 'azure': {
      const hasSecret = value('CLIENT_SECRET') !== undefined || value('CLIENT_SECRET_FILE') !== undefined;
      const authorityHost = value('AZURE_AUTHORITY_HOST');
      return {
        kind,
        scope: value('SCOPE') ?? AZURE_DICOM_SCOPE,
        ...(value('CLIENT_ID') === undefined ? {} : { clientId: value('CLIENT_ID')! }),
        ...(hasSecret
          ? {
              secret: {
                tenantId: value('AZURE_TENANT_ID')!,
                clientSecret: secretSource('CLIENT_SECRET', 'CLIENT_SECRET_FILE'),
                ...(authorityHost === undefined ? {} : { authorityHost }),
              },
            }
          : {}),
      };
    }
    case 'aws-sigv4':
      return { kind, region: value('AWS_REGION')!, service: value('AWS_SERVICE') ?? AWS_HEALTHIMAGING_SERVICE };
  }
}

function stringSetting(env: Settings, name: string): string | undefined {
  const value = env[name];
  return typeof value === 'string' ? value : undefined;
}
