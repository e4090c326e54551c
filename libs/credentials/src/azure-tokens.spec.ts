import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessRefusedError } from '@app/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { azureTokens } from './azure-tokens.js';
import { trustCertificateAuthorities } from './https-trust.js';

/**
 * @azure/identity's ClientSecretCredential against a local Entra ID (HTTPS: MSAL refuses an http
 * authority), its certificate trusted as HTTPS_CA_FILE would be. MSAL reads the tenant's OpenID
 * configuration, then posts the client_credentials grant to its token endpoint:
 * https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
 */
const dir = mkdtempSync(join(tmpdir(), 'entra-'));
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
let server: Server;
let authorityHost = '';
const tokenForms: URLSearchParams[] = [];
let secretOnServer = 'first-secret';

beforeAll(async () => {
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1']
      .concat(['-keyout', 'entra.key', '-out', 'entra.pem', '-subj', '/CN=127.0.0.1'])
      .concat(['-addext', 'subjectAltName=IP:127.0.0.1', '-addext', 'basicConstraints=critical,CA:TRUE']),
    { cwd: dir, stdio: 'ignore' },
  );
  trustCertificateAuthorities(join(dir, 'entra.pem'));
  server = createServer(
    { key: readFileSync(join(dir, 'entra.key')), cert: readFileSync(join(dir, 'entra.pem')) },
    (request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const path = (request.url ?? '').split('?')[0];
        if (path === `/${TENANT}/v2.0/.well-known/openid-configuration`) {
          return reply(response, 200, {
            token_endpoint: `${authorityHost}/${TENANT}/oauth2/v2.0/token`,
            authorization_endpoint: `${authorityHost}/${TENANT}/oauth2/v2.0/authorize`,
            issuer: `${authorityHost}/${TENANT}/v2.0`,
            end_session_endpoint: `${authorityHost}/${TENANT}/oauth2/v2.0/logout`,
            jwks_uri: `${authorityHost}/${TENANT}/discovery/v2.0/keys`,
            response_modes_supported: ['query'],
          });
        }
        if (path === '/common/discovery/instance') {
          return reply(response, 200, {
            tenant_discovery_endpoint: `${authorityHost}/${TENANT}/v2.0/.well-known/openid-configuration`,
            metadata: [],
          });
        }
        if (path === `/${TENANT}/oauth2/v2.0/token`) {
          const form = new URLSearchParams(body);
          tokenForms.push(form);
          if (form.get('client_secret') !== secretOnServer) {
            return reply(response, 401, {
              error: 'invalid_client',
              error_description: 'AADSTS7000215: Invalid client secret.',
            });
          }
          return reply(response, 200, {
            token_type: 'Bearer',
            expires_in: 3599,
            access_token: `entra-token-${tokenForms.length}`,
          });
        }
        reply(response, 404, { error: 'not_found', path });
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  authorityHost = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

function reply(response: ServerResponse, status: number, value: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(value));
}

const settings = (secretFile: string) =>
  ({
    kind: 'azure',
    scope: 'https://dicom.healthcareapis.azure.com/.default',
    clientId: 'b7c2e7f0-0000-4000-8000-000000000001',
    secret: { tenantId: TENANT, clientSecret: { file: secretFile }, authorityHost },
  }) as const;

describe('azureTokens', () => {
  it('client credentials: the grant for the DICOM service scope with the secret; expiry from expires_in', async () => {
    const secretFile = join(dir, 'secret');
    writeFileSync(secretFile, 'first-secret\n');
    const source = azureTokens(settings(secretFile), { settings: 'DICOMWEB' });
    const before = Date.now();
    const token = (await source({ forceRefresh: false })) as { token: string; expiresAt: number };
    expect(token.token).toMatch(/^entra-token-/);
    expect(token.expiresAt).toBeGreaterThan(before + 3500_000);
    const form = tokenForms.at(-1)!;
    expect(form.get('grant_type')).toBe('client_credentials');
    expect(form.get('client_id')).toBe('b7c2e7f0-0000-4000-8000-000000000001');
    expect(form.get('scope')).toContain('https://dicom.healthcareapis.azure.com/.default');
  });

  it("a refused secret is an access refusal naming Entra's error code; a rotated secret file is used without a restart", async () => {
    const secretFile = join(dir, 'rotated');
    writeFileSync(secretFile, 'first-secret\n');
    const source = azureTokens(settings(secretFile), { settings: 'DICOMWEB' });
    secretOnServer = 'second-secret';
    const refused = source({ forceRefresh: true });
    await expect(refused).rejects.toBeInstanceOf(AccessRefusedError);
    await expect(refused).rejects.toThrow(/^Entra ID refused b7c2e7f0-0000-4000-8000-000000000001: invalid_client$/);
    rmSync(secretFile);
    writeFileSync(secretFile, 'second-secret\n'); // a new inode, as a Secret update gives
    expect(await source({ forceRefresh: true })).toMatchObject({ token: expect.stringMatching(/^entra-token-/) });
  });
});
