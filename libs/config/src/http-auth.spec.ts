import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './app-config.js';

const https = { FHIR_BASE_URL: 'https://fhir.example.org/r4', DICOMWEB_BASE_URL: 'https://pacs.example.org/dicom-web' };

function problems(environment: Record<string, string>): string[] {
  try {
    parseConfig({ ...https, ...environment });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('HTTP authentication settings (<PREFIX>_AUTH)', () => {
  it('OAuth2 client credentials: a token URL, a client id and exactly one secret', () => {
    const config = parseConfig({
      ...https,
      FHIR_AUTH: 'client-credentials',
      FHIR_TOKEN_URL: 'https://auth.example.org/oauth2/token',
      FHIR_CLIENT_ID: 'triage',
      FHIR_CLIENT_SECRET_FILE: '/etc/covid-ct-triage/fhir/client-secret',
      FHIR_SCOPE: 'system/DiagnosticReport.write system/Observation.write',
    });
    expect(config.fhir.auth).toEqual({
      kind: 'client-credentials',
      tokenUrl: 'https://auth.example.org/oauth2/token',
      clientId: 'triage',
      clientSecret: { file: '/etc/covid-ct-triage/fhir/client-secret' },
      method: 'client_secret_basic',
      scope: 'system/DiagnosticReport.write system/Observation.write',
    });
    expect(problems({ FHIR_AUTH: 'client-credentials' })).toEqual([
      'FHIR_TOKEN_URL: FHIR_AUTH=client-credentials needs FHIR_TOKEN_URL',
      'FHIR_CLIENT_ID: FHIR_AUTH=client-credentials needs FHIR_CLIENT_ID',
      'FHIR_CLIENT_SECRET: FHIR_AUTH=client-credentials needs exactly one of FHIR_CLIENT_SECRET and FHIR_CLIENT_SECRET_FILE',
    ]);
  });

  it('SMART Backend Services: a private key file, an optional key id', () => {
    const config = parseConfig({
      ...https,
      FHIR_AUTH: 'private-key-jwt',
      FHIR_TOKEN_URL: 'https://auth.example.org/token',
      FHIR_CLIENT_ID: 'triage',
      FHIR_PRIVATE_KEY_FILE: '/keys/triage.pem',
      FHIR_KEY_ID: 'k1',
    });
    expect(config.fhir.auth).toEqual({
      kind: 'private-key-jwt',
      tokenUrl: 'https://auth.example.org/token',
      clientId: 'triage',
      privateKeyFile: '/keys/triage.pem',
      keyId: 'k1',
    });
  });

  it('a setting the chosen kind ignores means the kind was mistaken', () => {
    expect(problems({ FHIR_AUTH: 'bearer', FHIR_TOKEN: 't', FHIR_CLIENT_SECRET: 's' })).toEqual([
      'FHIR_CLIENT_SECRET: is not used with FHIR_AUTH=bearer',
    ]);
    expect(problems({ DICOMWEB_PASSWORD: 'p' })).toEqual(['DICOMWEB_PASSWORD: is not used with DICOMWEB_AUTH=none']);
  });

  it('credentials over plain http are refused unless ALLOW_INSECURE_HTTP=true', () => {
    const basic = { DICOMWEB_AUTH: 'basic', DICOMWEB_USERNAME: 'u', DICOMWEB_PASSWORD: 'p' };
    expect(problems({ ...basic, DICOMWEB_BASE_URL: 'http://pacs:8042/dicom-web' })).toEqual([
      'DICOMWEB_BASE_URL: is http://, so DICOMWEB_AUTH=basic would send credentials in the clear; use https, or set ALLOW_INSECURE_HTTP=true on a test bench',
    ]);
    const oauth = {
      FHIR_AUTH: 'client-credentials',
      FHIR_TOKEN_URL: 'http://auth:8080/token',
      FHIR_CLIENT_ID: 'triage',
      FHIR_CLIENT_SECRET: 's',
    };
    expect(problems(oauth)).toEqual([expect.stringMatching(/^FHIR_TOKEN_URL: is http:\/\//)]);
    expect(problems({ ...oauth, ALLOW_INSECURE_HTTP: 'true' })).toEqual([]);
    // No credentials, nothing to protect: the local stack's defaults stay valid.
    expect(problems({ DICOMWEB_BASE_URL: 'http://127.0.0.1:18042/dicom-web' })).toEqual([]);
    expect(problems({ ALLOW_INSECURE_HTTP: 'yes' })).toEqual(['ALLOW_INSECURE_HTTP: must be true or false']);
  });

  it('checks the shapes: method names, scope tokens, the token URL', () => {
    expect(
      problems({
        FHIR_AUTH: 'client-credentials',
        FHIR_TOKEN_URL: 'ftp://x',
        FHIR_CLIENT_ID: 'c',
        FHIR_CLIENT_SECRET: 's',
        FHIR_CLIENT_AUTH_METHOD: 'client_secret_jwt',
        FHIR_SCOPE: 'a  "b"',
      }),
    ).toEqual([
      'FHIR_TOKEN_URL: must be an http(s) URL',
      'FHIR_CLIENT_AUTH_METHOD: must be one of client_secret_basic, client_secret_post',
      'FHIR_SCOPE: must be space-separated scope tokens (RFC 6749 §3.3)',
    ]);
  });
});

describe('cloud credentials (<PREFIX>_AUTH google, azure, aws-sigv4)', () => {
  it('google: a key file or none (Application Default Credentials), the Healthcare scope by default', () => {
    expect(parseConfig({ ...https, DICOMWEB_AUTH: 'google' }).dicomweb.auth).toEqual({
      kind: 'google',
      scope: 'https://www.googleapis.com/auth/cloud-healthcare',
    });
    expect(
      parseConfig({ ...https, DICOMWEB_AUTH: 'google', DICOMWEB_GOOGLE_KEY_FILE: '/etc/key.json' }).dicomweb.auth,
    ).toMatchObject({ keyFile: '/etc/key.json' });
    expect(problems({ DICOMWEB_AUTH: 'google', DICOMWEB_CLIENT_ID: 'x' })).toEqual([
      'DICOMWEB_CLIENT_ID: is not used with DICOMWEB_AUTH=google',
    ]);
  });

  it('azure: client credentials need tenant and client id; without a secret a managed identity', () => {
    expect(
      parseConfig({
        ...https,
        DICOMWEB_AUTH: 'azure',
        DICOMWEB_AZURE_TENANT_ID: 'contoso.onmicrosoft.com',
        DICOMWEB_CLIENT_ID: 'app',
        DICOMWEB_CLIENT_SECRET_FILE: '/etc/secret',
      }).dicomweb.auth,
    ).toEqual({
      kind: 'azure',
      scope: 'https://dicom.healthcareapis.azure.com/.default',
      clientId: 'app',
      secret: { tenantId: 'contoso.onmicrosoft.com', clientSecret: { file: '/etc/secret' } },
    });
    expect(parseConfig({ ...https, DICOMWEB_AUTH: 'azure' }).dicomweb.auth).toEqual({
      kind: 'azure',
      scope: 'https://dicom.healthcareapis.azure.com/.default',
    });
    expect(problems({ DICOMWEB_AUTH: 'azure', DICOMWEB_CLIENT_SECRET: 's' })).toEqual([
      'DICOMWEB_AZURE_TENANT_ID: DICOMWEB_AUTH=azure needs DICOMWEB_AZURE_TENANT_ID',
      'DICOMWEB_CLIENT_ID: DICOMWEB_AUTH=azure needs DICOMWEB_CLIENT_ID',
    ]);
    expect(problems({ DICOMWEB_AUTH: 'azure', DICOMWEB_AZURE_TENANT_ID: 't' })).toEqual([
      'DICOMWEB_AZURE_TENANT_ID: is only used with a client secret; DICOMWEB_AUTH=azure without one is a managed identity',
    ]);
  });

  it('aws-sigv4: a region, the medical-imaging service by default; no credentials over http', () => {
    expect(
      parseConfig({ ...https, DICOMWEB_AUTH: 'aws-sigv4', DICOMWEB_AWS_REGION: 'eu-west-1' }).dicomweb.auth,
    ).toEqual({
      kind: 'aws-sigv4',
      region: 'eu-west-1',
      service: 'medical-imaging',
    });
    expect(problems({ DICOMWEB_AUTH: 'aws-sigv4' })).toEqual([
      'DICOMWEB_AWS_REGION: DICOMWEB_AUTH=aws-sigv4 needs DICOMWEB_AWS_REGION',
    ]);
    expect(
      problems({ DICOMWEB_AUTH: 'aws-sigv4', DICOMWEB_AWS_REGION: 'Europe', DICOMWEB_BASE_URL: 'http://x/dicom-web' }),
    ).toEqual([
      'DICOMWEB_AWS_REGION: must be an AWS region, e.g. us-east-1',
      'DICOMWEB_BASE_URL: is http://, so DICOMWEB_AUTH=aws-sigv4 would send credentials in the clear; use https, or set ALLOW_INSECURE_HTTP=true on a test bench',
    ]);
  });
});
