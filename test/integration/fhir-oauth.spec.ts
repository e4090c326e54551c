import { createHash, createPrivateKey, createPublicKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { buildTriageBundle, type TriageBundleInput } from '@app/fhir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stack } from '../support/stack.js';

/**
 * The local authorization server (Spring Authorization Server, scripts/stack/services/auth.sh) and
 * HAPI's secured port as its resource server (tools/fhir-server SecuredPortConfig), both over HTTPS
 * with certificates from the stack CA: tokens by client secret (basic and post) and by SMART
 * Backend Services client assertions (RS384, ES384); the assertion rules; scope enforcement on
 * HAPI (401 without or with a bad token, 403 without the scope, a triage bundle accepted with the
 * write scopes); the admin API (disable, rotate, lifetime, counters). See docs/security.md.
 */
const auth = stack.auth;
const ca = readFileSync(stack.tlsCaFile);
const adminSecret = () => readFileSync(auth.adminSecretFile, 'utf8').trim();
const secretOf = (file: string) => readFileSync(file, 'utf8').trim();

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** HTTPS trusting only the stack CA (fetch cannot be given a CA without undici's Agent). */
function https(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, ca, timeout: 60_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

const FORM = 'application/x-www-form-urlencoded';
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

function tokenBySecretBasic(id: string, secret: string, scope: string): Promise<Answer> {
  return https(auth.tokenUrl, {
    method: 'POST',
    headers: { 'Content-Type': FORM, Authorization: basic(id, secret) },
    body: form({ grant_type: 'client_credentials', scope }),
  });
}

function tokenBySecretPost(id: string, secret: string, scope: string): Promise<Answer> {
  return https(auth.tokenUrl, {
    method: 'POST',
    headers: { 'Content-Type': FORM },
    body: form({ grant_type: 'client_credentials', scope, client_id: id, client_secret: secret }),
  });
}

/** Like expect(answer.status).toBe(status), with the answer's body in the message. */
function expectStatus(answer: Answer, status: number): void {
  if (answer.status !== status) {
    throw new Error(`expected HTTP ${status}, got ${answer.status}: ${answer.text.slice(0, 600)}`);
  }
}

const b64url = (value: Buffer | string) => Buffer.from(value).toString('base64url');

/** A SMART Backend Services client assertion, built here with node:crypto only. */
function assertion(
  client: { id: string; kid: string },
  key: KeyObject,
  alg: 'RS384' | 'ES384',
  claims: Record<string, unknown> = {},
): string {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ alg, typ: 'JWT', kid: client.kid }));
  const payload = b64url(
    JSON.stringify({
      iss: client.id,
      sub: client.id,
      aud: auth.tokenUrl,
      exp: now + 240,
      jti: randomUUID(),
      ...claims,
    }),
  );
  const input = `${header}.${payload}`;
  // ES384: the raw r||s form JWS needs (ieee-p1363), not DER.
  const signature =
    alg === 'RS384'
      ? sign('sha384', Buffer.from(input), key)
      : sign('sha384', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(signature)}`;
}

function tokenByAssertion(jwt: string, scope: string, clientId?: string): Promise<Answer> {
  return https(auth.tokenUrl, {
    method: 'POST',
    headers: { 'Content-Type': FORM },
    body: form({
      grant_type: 'client_credentials',
      scope,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: jwt,
      ...(clientId ? { client_id: clientId } : {}),
    }),
  });
}

function decode(jwt: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [header, claims] = jwt
    .split('.')
    .slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
  return { header, claims };
}

async function accessToken(answer: Promise<Answer>): Promise<string> {
  const a = await answer;
  expectStatus(a, 200);
  return a.json().access_token as string;
}

function admin(method: string, path: string, body?: unknown, secret = adminSecret()): Promise<Answer> {
  return https(`${auth.adminUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${secret}`, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

function secured(method: string, path: string, token?: string, body?: unknown): Promise<Answer> {
  return https(`${stack.fhirSecuredBaseUrl}${path}`, {
    method,
    headers: {
      Accept: 'application/fhir+json',
      'Content-Type': 'application/fhir+json',
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

function randomUid(): string {
  return `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString()}`;
}

/** The worker's own triage bundle: Patient, ImagingStudy, Device, Observations, DiagnosticReport, Provenance. */
function triageBundle(): fhir4.Bundle {
  const input: TriageBundleInput = {
    study: { studyInstanceUid: randomUid(), seriesInstanceUid: randomUid(), accessionNumber: 'OAUTH-1' },
    patient: { value: `oauth-${randomUUID()}`, issuer: 'TEST_ISSUER' },
    measurements: {
      model: {
        id: 'covid-triage-multitask-demo',
        name: 'OAuth test',
        version: `0.1.0-oauth.${randomUUID().slice(0, 8)}`,
      },
      covidProbability: 0.2,
      severityPercent: 3,
      lungs: [
        { region: 'left', lungVolumeMl: 2300, lesionVolumeMl: 69, percentAffected: 3 },
        { region: 'right', lungVolumeMl: 2600, lesionVolumeMl: 78, percentAffected: 3 },
        { region: 'both', lungVolumeMl: 4900, lesionVolumeMl: 147, percentAffected: 3 },
      ],
    },
    seg: { sopInstanceUid: randomUid(), seriesInstanceUid: randomUid() },
    sr: { sopInstanceUid: randomUid(), seriesInstanceUid: randomUid() },
    timestamp: new Date(),
    identifierSystem: 'https://covid-ct-triage.example.org/fhir/identifier',
  };
  return buildTriageBundle(input);
}

const V2_WRITE = auth.writeScopes
  .split(' ')
  .filter((s) => s.endsWith('.cu') || s.endsWith('.rs'))
  .join(' ');
const V1_WRITE = auth.writeScopes
  .split(' ')
  .filter((s) => s.endsWith('.write') || s.endsWith('.read'))
  .join(' ');

beforeAll(async () => {
  const metadata = await https(`${auth.issuer}/.well-known/oauth-authorization-server`).catch((error: unknown) => {
    throw new Error(
      `the authorization server is not reachable at ${auth.issuer}; start the stack with npm run stack:up`,
      {
        cause: error,
      },
    );
  });
  expectStatus(metadata, 200);
  await admin('POST', '/reset');
});

afterAll(async () => {
  await admin('POST', '/reset');
});

describe('the authorization server', () => {
  it('publishes its metadata and signing keys over HTTPS from the stack CA', async () => {
    const metadata = (await https(`${auth.issuer}/.well-known/oauth-authorization-server`)).json();
    expect(metadata).toMatchObject({ issuer: auth.issuer, token_endpoint: auth.tokenUrl, jwks_uri: auth.jwksUrl });
    expect(metadata.grant_types_supported).toEqual(['client_credentials']);
    expect(metadata.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(['client_secret_basic', 'client_secret_post', 'private_key_jwt']),
    );
    const jwks = (await https(auth.jwksUrl)).json();
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA' });
    expect(jwks.keys[0].d).toBeUndefined();
  });

  it('issues a signed JWT by client_secret_basic, with iss, aud, sub, client_id, scope as a string, exp', async () => {
    const scope = 'system/DiagnosticReport.cu system/*.rs';
    const answer = await tokenBySecretBasic(auth.secretClient.id, secretOf(auth.secretClient.secretFile), scope);
    expectStatus(answer, 200);
    const body = answer.json();
    expect(body).toMatchObject({ token_type: 'Bearer', scope: expect.any(String) });
    expect(body.scope.split(' ').toSorted()).toEqual(scope.split(' ').toSorted());
    expect(body.expires_in).toBeGreaterThan(290);
    const { header, claims } = decode(body.access_token);
    expect(header).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });
    expect(claims).toMatchObject({
      iss: auth.issuer,
      sub: auth.secretClient.id,
      client_id: auth.secretClient.id,
      // One audience: Nimbus writes it as a plain string.
      aud: stack.fhirSecuredBaseUrl,
    });
    expect((claims.scope as string).split(' ').toSorted()).toEqual(scope.split(' ').toSorted());
    expect((claims.exp as number) - (claims.iat as number)).toBe(300);
    expect(claims.jti).toEqual(expect.any(String));
  });

  it('issues by client_secret_post, and refuses a wrong secret and an unregistered scope', async () => {
    const secret = secretOf(auth.secretClient.secretFile);
    expect((await tokenBySecretPost(auth.secretClient.id, secret, 'system/Observation.write')).status).toBe(200);
    const wrong = await tokenBySecretBasic(auth.secretClient.id, `${secret}x`, 'system/Observation.write');
    expect(wrong.status).toBe(401);
    expect(wrong.json().error).toBe('invalid_client');
    const scope = await tokenBySecretBasic(auth.secretClient.id, secret, 'system/Patient.d');
    expect(scope.status).toBe(400);
    expect(scope.json().error).toBe('invalid_scope');
  });

  for (const [name, alg] of [
    ['rs384Client', 'RS384'],
    ['es384Client', 'ES384'],
  ] as const) {
    it(`issues by private_key_jwt ${alg} (SMART Backend Services), with or without client_id`, async () => {
      const client = auth[name];
      const key = createPrivateKey(readFileSync(client.keyFile));
      // The key id stack.sh env prints is the key's RFC 7638 thumbprint.
      const jwk = createPublicKey(key).export({ format: 'jwk' });
      const members =
        jwk.kty === 'RSA' ? { e: jwk.e, kty: jwk.kty, n: jwk.n } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
      expect(client.kid).toBe(createHash('sha256').update(JSON.stringify(members)).digest('base64url'));
      const smart = await tokenByAssertion(assertion(client, key, alg), 'system/DiagnosticReport.write');
      expectStatus(smart, 200);
      expect(decode(smart.json().access_token).claims).toMatchObject({
        sub: client.id,
        scope: 'system/DiagnosticReport.write',
      });
      const withId = await tokenByAssertion(assertion(client, key, alg), 'system/*.rs', client.id);
      expectStatus(withId, 200);
    });
  }

  it('refuses client assertions SMART does not allow: replayed jti, other aud, exp beyond 5 min, other key, iss ≠ sub', async () => {
    const client = auth.rs384Client;
    const key = createPrivateKey(readFileSync(client.keyFile));
    const otherKey = createPrivateKey(readFileSync(auth.es384Client.keyFile));
    const once = assertion(client, key, 'RS384');
    expect((await tokenByAssertion(once, 'system/*.rs')).status).toBe(200);
    const cases = {
      replayed: once,
      otherAudience: assertion(client, key, 'RS384', { aud: auth.issuer }),
      tooLong: assertion(client, key, 'RS384', { exp: Math.floor(Date.now() / 1000) + 600 }),
      expired: assertion(client, key, 'RS384', { exp: Math.floor(Date.now() / 1000) - 120 }),
      noJti: assertion(client, key, 'RS384', { jti: undefined }),
      otherKey: assertion(client, otherKey, 'ES384'),
      issNotSub: assertion(client, key, 'RS384', { iss: auth.es384Client.id }),
    };
    for (const [name, jwt] of Object.entries(cases)) {
      const answer = await tokenByAssertion(jwt, 'system/*.rs');
      expect({ name, status: answer.status, error: answer.json().error }).toEqual({
        name,
        status: 401,
        error: 'invalid_client',
      });
    }
  });
});

describe('HAPI secured port (resource server)', () => {
  let writeToken: string;
  let readToken: string;

  beforeAll(async () => {
    writeToken = await accessToken(
      tokenBySecretBasic(auth.secretClient.id, secretOf(auth.secretClient.secretFile), V2_WRITE),
    );
    readToken = await accessToken(
      tokenBySecretBasic(auth.readonlyClient.id, secretOf(auth.readonlyClient.secretFile), auth.readScopes),
    );
  });

  it('answers metadata and SMART configuration without a token', async () => {
    expect((await secured('GET', '/metadata')).status).toBe(200);
    const smart = (await secured('GET', '/.well-known/smart-configuration')).json();
    expect(smart).toMatchObject({ token_endpoint: auth.tokenUrl, grant_types_supported: ['client_credentials'] });
  });

  it('refuses a request without a token (401, Bearer challenge) and with a bad one (401 invalid_token)', async () => {
    const none = await secured('POST', '', undefined, triageBundle());
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="fhir"');
    const forged = `${writeToken.slice(0, writeToken.lastIndexOf('.'))}.${b64url('not a signature')}`;
    for (const bad of ['garbage', forged]) {
      const answer = await secured('GET', '/DiagnosticReport?_summary=count', bad);
      expect(answer.status).toBe(401);
      expect(answer.headers['www-authenticate']).toMatch(/^Bearer realm="fhir", error="invalid_token"/);
    }
  });

  it('refuses the read-only client writing (403 insufficient_scope), lets it search', async () => {
    const write = await secured('POST', '', readToken, triageBundle());
    expect(write.status).toBe(403);
    expect(write.headers['www-authenticate']).toMatch(/error="insufficient_scope"/);
    expect(write.headers['www-authenticate']).toMatch(/scope="[^"]*system\/DiagnosticReport\.c/);
    expect(write.json().resourceType).toBe('OperationOutcome');
    const search = await secured('GET', '/DiagnosticReport?_summary=count', readToken);
    expectStatus(search, 200);
  });

  it('accepts the triage transaction with the write scopes, v2 and v1 forms', async () => {
    const v2 = await secured('POST', '', writeToken, triageBundle());
    expectStatus(v2, 200);
    const entries = v2.json().entry as { response: { status: string } }[];
    expect(entries.map((e) => e.response.status.slice(0, 3))).toEqual(entries.map(() => '201'));
    const v1Token = await accessToken(
      tokenBySecretBasic(auth.secretClient.id, secretOf(auth.secretClient.secretFile), V1_WRITE),
    );
    expect((await secured('POST', '', v1Token, triageBundle())).status).toBe(200);
  });

  it('needs the scopes of every entry: without Provenance create the transaction is refused', async () => {
    const noProvenance = V2_WRITE.replace('system/Provenance.cu', '').replace(/\s+/g, ' ').trim();
    const token = await accessToken(
      tokenBySecretBasic(auth.secretClient.id, secretOf(auth.secretClient.secretFile), noProvenance),
    );
    const answer = await secured('POST', '', token, triageBundle());
    expect(answer.status).toBe(403);
    expect(answer.headers['www-authenticate']).toMatch(/scope="system\/Provenance\.c"/);
  });

  it('refuses an expired token (401 invalid_token)', async () => {
    const client = auth.shortClient;
    expect((await admin('PUT', `/clients/${client.id}/token-lifetime`, { seconds: 1 })).status).toBe(200);
    const token = await accessToken(tokenBySecretBasic(client.id, secretOf(client.secretFile), 'system/*.rs'));
    expect((await admin('PUT', `/clients/${client.id}/token-lifetime`, { seconds: client.tokenSeconds })).status).toBe(
      200,
    );
    const exp = decode(token).claims.exp as number;
    // HAPI allows 5 s of clock skew on exp.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, exp * 1000 + 6500 - Date.now())));
    const answer = await secured('GET', '/DiagnosticReport?_summary=count', token);
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toMatch(/error="invalid_token", error_description="Expired JWT"/);
  });

  it('keeps the plain port open without a token, as before', async () => {
    const response = await fetch(`${stack.fhirBaseUrl}/DiagnosticReport?_summary=count`);
    expect(response.status).toBe(200);
  });
});

describe('the admin API', () => {
  it('needs the admin secret', async () => {
    expect((await admin('GET', '/clients', undefined, 'wrong')).status).toBe(401);
    const clients = (await admin('GET', '/clients')).json() as { clientId: string; tokenLifetimeSeconds: number }[];
    expect(clients.map((c) => c.clientId)).toEqual([
      auth.secretClient.id,
      auth.rs384Client.id,
      auth.es384Client.id,
      auth.readonlyClient.id,
      auth.shortClient.id,
      // The Kafka broker's clients (kafka-security.spec.ts): tokens of another audience.
      auth.kafkaClient.id,
      auth.kafkaRs384Client.id,
    ]);
    expect(clients.find((c) => c.clientId === auth.shortClient.id)?.tokenLifetimeSeconds).toBe(
      auth.shortClient.tokenSeconds,
    );
  });

  it('disables a client (401 invalid_client at the token endpoint) and enables it again', async () => {
    const id = auth.readonlyClient.id;
    const secret = secretOf(auth.readonlyClient.secretFile);
    expect((await admin('POST', `/clients/${id}/disable`)).json().enabled).toBe(false);
    const refused = await tokenBySecretBasic(id, secret, 'system/*.rs');
    expect(refused.status).toBe(401);
    expect(refused.json().error).toBe('invalid_client');
    expect((await admin('POST', `/clients/${id}/enable`)).json().enabled).toBe(true);
    expect((await tokenBySecretBasic(id, secret, 'system/*.rs')).status).toBe(200);
  });

  it('rotates a secret: the new one works at once, the old one no longer; reset restores it', async () => {
    const id = auth.readonlyClient.id;
    const old = secretOf(auth.readonlyClient.secretFile);
    const rotated = `rotated-${randomUUID()}`;
    expect((await admin('PUT', `/clients/${id}/secret`, { secret: rotated })).status).toBe(200);
    expect((await tokenBySecretBasic(id, rotated, 'system/*.rs')).status).toBe(200);
    expect((await tokenBySecretBasic(id, old, 'system/*.rs')).status).toBe(401);
    expect((await admin('POST', '/reset')).status).toBe(200);
    expect((await tokenBySecretBasic(id, old, 'system/*.rs')).status).toBe(200);
    expect((await admin('PUT', `/clients/${auth.rs384Client.id}/secret`, { secret: 'x' })).status).toBe(409);
  });

  it('counts the tokens issued per client and every token request', async () => {
    const before = (await admin('GET', '/tokens')).json();
    const secret = secretOf(auth.secretClient.secretFile);
    await accessToken(tokenBySecretBasic(auth.secretClient.id, secret, 'system/*.rs'));
    await accessToken(tokenBySecretPost(auth.secretClient.id, secret, 'system/*.rs'));
    expect((await tokenBySecretBasic(auth.secretClient.id, 'wrong', 'system/*.rs')).status).toBe(401);
    const after = (await admin('GET', '/tokens')).json();
    expect(after.issued[auth.secretClient.id] - before.issued[auth.secretClient.id]).toBe(2);
    expect(after.tokenRequests - before.tokenRequests).toBe(3);
  });
});
