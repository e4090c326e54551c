import { generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessRefusedError } from '@app/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialsFileError } from './secret.js';
import { googleTokens } from './google-tokens.js';

/**
 * google-auth-library against a local token endpoint and a local metadata server. A service
 * account's JWT grant goes to Google's fixed token URL: the test's fetch (the one google-auth-library
 * is given) sends it here instead; the metadata server is found through GCE_METADATA_HOST, as on GKE.
 * Formats: https://developers.google.com/identity/protocols/oauth2/service-account#httprest and
 * https://cloud.google.com/compute/docs/access/authenticate-workloads#applications
 */
const dir = mkdtempSync(join(tmpdir(), 'google-'));
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyFile = join(dir, 'key.json');
writeFileSync(
  keyFile,
  JSON.stringify({
    type: 'service_account',
    project_id: 'triage-test',
    private_key_id: 'k1',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    client_email: 'intake@triage-test.iam.gserviceaccount.com',
    token_uri: 'https://oauth2.googleapis.com/token',
  }),
);

let server: Server;
let base = '';
const requests: { path: string; headers: IncomingMessage['headers']; body: string }[] = [];
let refuse = false;

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      requests.push({ path: request.url ?? '', headers: request.headers, body });
      answer(request, body, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

function answer(request: IncomingMessage, body: string, response: ServerResponse): void {
  const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(JSON.stringify(value));
  };
  if (request.url === '/token') {
    if (refuse) return json(400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
    const assertion = new URLSearchParams(body).get('assertion') ?? '';
    const [header, claims, signature] = assertion.split('.');
    const signed = verify('sha256', Buffer.from(`${header}.${claims}`), publicKey, Buffer.from(signature, 'base64url'));
    if (!signed) return json(400, { error: 'invalid_grant' });
    return json(200, { access_token: 'ya29.from-key', expires_in: 3599, token_type: 'Bearer' });
  }
  if (request.headers['metadata-flavor'] !== 'Google') return json(403, {});
  const flavor = { 'metadata-flavor': 'Google' };
  if (request.url?.startsWith('/computeMetadata/v1/instance/service-accounts/default/token')) {
    return json(200, { access_token: 'ya29.from-metadata', expires_in: 1800, token_type: 'Bearer' }, flavor);
  }
  response.writeHead(200, { 'content-type': 'text/plain', ...flavor });
  response.end('ok');
}

/** google-auth-library's requests to Google's token endpoint, answered by the local one. */
const toLocal: typeof fetch = (input, init) => {
  const url = String(input instanceof Request ? input.url : input);
  return fetch(url.replace('https://oauth2.googleapis.com/token', `http://${base}/token`), init);
};

describe('googleTokens', () => {
  it('a service-account key: a JWT grant signed RS256 by the key, for the scope; expiry from expires_in', async () => {
    requests.length = 0;
    const events: unknown[] = [];
    const source = googleTokens({
      keyFile,
      scope: 'https://www.googleapis.com/auth/cloud-healthcare',
      setting: 'DICOMWEB_GOOGLE_KEY_FILE',
      fetch: toLocal,
      onToken: (event) => events.push(event),
    });
    const before = Date.now();
    const token = await source({ forceRefresh: false });
    expect(token).toMatchObject({ token: 'ya29.from-key' });
    const expiresAt = (token as { expiresAt: number }).expiresAt;
    expect(expiresAt).toBeGreaterThan(before + 3500_000);
    const form = new URLSearchParams(requests[0].body);
    expect(form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    const claims = JSON.parse(Buffer.from(form.get('assertion')!.split('.')[1], 'base64url').toString()) as Record<
      string,
      unknown
    >;
    expect(claims).toMatchObject({
      iss: 'intake@triage-test.iam.gserviceaccount.com',
      scope: 'https://www.googleapis.com/auth/cloud-healthcare',
      aud: 'https://oauth2.googleapis.com/token',
    });
    expect(events).toEqual([
      expect.objectContaining({
        clientId: 'intake@triage-test.iam.gserviceaccount.com',
        expiresInS: expect.any(Number),
      }),
    ]);
  });

  it('a refused key is an access refusal naming the account and the error code only', async () => {
    refuse = true;
    try {
      const source = googleTokens({ keyFile, scope: 'x', setting: 'DICOMWEB_GOOGLE_KEY_FILE', fetch: toLocal });
      const failure = source({ forceRefresh: false });
      await expect(failure).rejects.toBeInstanceOf(AccessRefusedError);
      await expect(failure).rejects.toThrow(
        /^Google refused intake@triage-test.iam.gserviceaccount.com: invalid_grant$/,
      );
    } finally {
      refuse = false;
    }
  });

  it('a missing or foreign key file is a configuration error at start-up', () => {
    expect(() =>
      googleTokens({ keyFile: join(dir, 'none.json'), scope: 'x', setting: 'DICOMWEB_GOOGLE_KEY_FILE' }),
    ).toThrow(CredentialsFileError);
    writeFileSync(join(dir, 'user.json'), JSON.stringify({ type: 'authorized_user' }));
    expect(() =>
      googleTokens({ keyFile: join(dir, 'user.json'), scope: 'x', setting: 'DICOMWEB_GOOGLE_KEY_FILE' }),
    ).toThrow(/DICOMWEB_GOOGLE_KEY_FILE/);
  });

  it('without a key file: Application Default Credentials from the metadata server (GKE Workload Identity)', async () => {
    const saved = { ...process.env };
    process.env['GCE_METADATA_HOST'] = base;
    delete process.env['GOOGLE_APPLICATION_CREDENTIALS'];
    process.env['CLOUDSDK_CONFIG'] = dir; // no gcloud user credentials from this machine
    try {
      requests.length = 0;
      const source = googleTokens({ scope: 'https://www.googleapis.com/auth/cloud-healthcare', setting: 'X' });
      expect(await source({ forceRefresh: false })).toMatchObject({ token: 'ya29.from-metadata' });
      const tokenRequest = requests.find((r) => r.path.includes('/service-accounts/default/token'));
      expect(tokenRequest?.headers['metadata-flavor']).toBe('Google');
    } finally {
      process.env = saved;
    }
  });
});
