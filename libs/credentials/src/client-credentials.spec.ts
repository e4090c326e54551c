import { generateKeyPairSync, verify } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { AccessRefusedError, TransientError } from '@app/errors';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signingKeyFromPem } from './client-assertion.js';
import { clientCredentialsTokens } from './client-credentials.js';

type Seen = { headers: IncomingMessage['headers']; form: URLSearchParams };
let server: Server;
let tokenUrl = '';
let seen: Seen[] = [];
let reply: (response: ServerResponse) => void;

const json = (status: number, body: unknown) => (response: ServerResponse) => {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
};

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      seen.push({ headers: request.headers, form: new URLSearchParams(body) });
      reply(response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  tokenUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/token`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));
beforeEach(() => {
  seen = [];
  reply = json(200, { access_token: 'eyJ.token.sig', token_type: 'Bearer', expires_in: 300, scope: 'system/x.write' });
});

const secret = 'client-s3cret:with/odd&chars';

describe('clientCredentialsTokens', () => {
  it('client_secret_basic: form-encoded id and secret in Basic, the grant and scope in the form; expiry from expires_in', async () => {
    const events: unknown[] = [];
    const source = clientCredentialsTokens({
      tokenUrl,
      clientId: 'triage worker',
      scope: 'system/DiagnosticReport.write',
      authentication: { method: 'client_secret_basic', secret: () => secret },
      now: () => 1_000,
      onToken: (event) => events.push(event),
    });
    expect(await source({ forceRefresh: false })).toEqual({ token: 'eyJ.token.sig', expiresAt: 301_000 });
    const [request] = seen;
    const basic = Buffer.from((request.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString();
    expect(basic).toBe(`triage+worker:${new URLSearchParams({ s: secret }).toString().slice(2)}`);
    expect(Object.fromEntries(request.form)).toEqual({
      grant_type: 'client_credentials',
      scope: 'system/DiagnosticReport.write',
    });
    expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(events).toEqual([{ clientId: 'triage worker', expiresInS: 300, scope: 'system/x.write' }]);
  });

  it('client_secret_post: id and secret in the form, no Authorization header', async () => {
    const source = clientCredentialsTokens({
      tokenUrl,
      clientId: 'triage',
      authentication: { method: 'client_secret_post', secret: () => secret },
    });
    await source({ forceRefresh: false });
    expect(seen[0].headers.authorization).toBeUndefined();
    expect(Object.fromEntries(seen[0].form)).toEqual({
      grant_type: 'client_credentials',
      client_id: 'triage',
      client_secret: secret,
    });
  });

  it('private_key_jwt: a signed assertion for this token URL, no secret', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const signingKey = signingKeyFromPem(privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const source = clientCredentialsTokens({
      tokenUrl,
      clientId: 'triage',
      scope: 'system/*.read',
      authentication: { method: 'private_key_jwt', signingKey: () => signingKey },
    });
    await source({ forceRefresh: false });
    const form = seen[0].form;
    expect(form.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    expect(form.get('client_secret')).toBeNull();
    const [header, payload, signature] = (form.get('client_assertion') ?? '').split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ iss: 'triage', sub: 'triage', aud: tokenUrl });
    const signed = Buffer.from(`${header}.${payload}`);
    const valid = verify(
      'sha384',
      signed,
      { key: publicKey, dsaEncoding: 'ieee-p1363' },
      Buffer.from(signature, 'base64url'),
    );
    expect(valid).toBe(true);
  });

  it('a refusal is an AccessRefusedError with the OAuth error code only, never the server text or the secret', async () => {
    reply = json(401, { error: 'invalid_client', error_description: `client secret ${secret} is wrong` });
    const source = clientCredentialsTokens({
      tokenUrl,
      clientId: 'triage',
      authentication: { method: 'client_secret_post', secret: () => secret },
    });
    const error = await Promise.resolve(source({ forceRefresh: false })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AccessRefusedError);
    expect(error).toMatchObject({ status: 401, transient: true });
    expect((error as Error).message).toBe(
      `the token endpoint ${new URL(tokenUrl).origin} refused client triage: invalid_client`,
    );
    expect(inspect(error, { depth: 5 })).not.toContain(secret);

    reply = json(400, { error: 'made_up_code <script>' });
    await expect(source({ forceRefresh: false })).rejects.toThrow(/refused client triage: HTTP 400$/);
  });

  it('an unavailable endpoint is transient; a body without a bearer token is refused', async () => {
    const source = clientCredentialsTokens({
      tokenUrl,
      clientId: 'triage',
      authentication: { method: 'client_secret_basic', secret: () => secret },
    });
    reply = json(503, {});
    await expect(source({ forceRefresh: false })).rejects.toThrow(/answered HTTP 503/);
    reply = json(200, { access_token: 'x', token_type: 'mac' });
    await expect(source({ forceRefresh: false })).rejects.toThrow(/without a bearer access_token/);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = clientCredentialsTokens({
      tokenUrl: `http://127.0.0.1:${closedPort}/token`,
      clientId: 'triage',
      authentication: { method: 'client_secret_basic', secret: () => secret },
    });
    const error = await Promise.resolve(unreachable({ forceRefresh: false })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toMatch(/unreachable \(ECONNREFUSED\)/);
  });

  it('never follows a redirect with the secret', async () => {
    reply = (response) => {
      response.writeHead(307, { location: 'http://127.0.0.1:1/elsewhere' });
      response.end();
    };
    const source = clientCredentialsTokens({
      tokenUrl,
      clientId: 'triage',
      authentication: { method: 'client_secret_post', secret: () => secret },
    });
    await expect(source({ forceRefresh: false })).rejects.toBeInstanceOf(TransientError);
    expect(seen).toHaveLength(1);
  });
});
