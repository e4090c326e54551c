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
