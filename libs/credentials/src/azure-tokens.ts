import {
  AuthenticationError,
  AuthenticationRequiredError,
  ClientSecretCredential,
  CredentialUnavailableError,
  ManagedIdentityCredential,
  type TokenCredential,
} from '@azure/identity';
import type { HttpAuth } from '@app/config';
import { AccessRefusedError, TransientError } from '@app/errors';
import type { TokenSource } from './auth-provider.js';
import { secretOf } from './secret.js';

/**
 * Microsoft Entra ID access tokens (the Azure DICOM service) from @azure/identity: client
 * credentials with a secret (re-read when its file changes: a new credential for the new
 * secret), or a managed identity (system-assigned, or the user-assigned one the client id
 * names; on AKS also workload identity's federated token through the same environment).
 * Uncached: bearerToken() caches and renews the tokens.
 */

const OAUTH_ERRORS = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
]);

type AzureAuth = Extract<HttpAuth, { kind: 'azure' }>;

export function azureTokens(
  auth: AzureAuth,
  context: { settings: string; onToken?: (event: { clientId: string; expiresInS?: number; scope?: string }) => void },
): TokenSource {
  const who = auth.clientId ?? 'the managed identity';
  let credential: () => TokenCredential;
  if (auth.secret) {
    const { tenantId, clientSecret, authorityHost } = auth.secret;
    const setting = `${context.settings}_${'file' in clientSecret ? 'CLIENT_SECRET_FILE' : 'CLIENT_SECRET'}`;
    const secret = secretOf(clientSecret, setting);
    let built: { secret: string; credential: TokenCredential } | undefined;
    credential = () => {
      const current = secret();
      if (built?.secret !== current) {
        // A named authority (a sovereign or private cloud) is trusted as it is: MSAL would otherwise
        // ask the public cloud's instance discovery about it first.
        const options = authorityHost ? { authorityHost, disableInstanceDiscovery: true } : {};
        built = { secret: current, credential: new ClientSecretCredential(tenantId, auth.clientId!, current, options) };
      }
      return built.credential;
    };
  } else {
    const managed = new ManagedIdentityCredential(auth.clientId ? { clientId: auth.clientId } : {});
    credential = () => managed;
  }
  return async () => {
    try {
      const token = await credential().getToken(auth.scope);
      if (!token) throw new TransientError(`Entra ID answered without an access token for ${who}`);
      context.onToken?.({
        clientId: who,
        expiresInS: Math.round((token.expiresOnTimestamp - Date.now()) / 1000),
        scope: auth.scope,
      });
      return { token: token.token, expiresAt: token.expiresOnTimestamp };
    } catch (error) {
      throw azureFailure(error, who);
    }
  };
}

/** Entra's refusal (its OAuth error code only) or no identity here: access refusals, waited out. */
function azureFailure(error: unknown, who: string): Error {
  if (error instanceof AuthenticationError) {
    const code = error.errorResponse.error;
    return new AccessRefusedError(`Entra ID refused ${who}: ${code || `HTTP ${error.statusCode}`}`, error.statusCode);
  }
  if (error instanceof AuthenticationRequiredError) {
    // MSAL's refusal, e.g. "invalid_client: … AADSTS7000215 …": only the RFC 6749 code is repeated.
    const code = /^([a-z_]+):/.exec(error.message)?.[1];
    return new AccessRefusedError(`Entra ID refused ${who}: ${code && OAUTH_ERRORS.has(code) ? code : 'refused'}`);
  }
  if (error instanceof CredentialUnavailableError) {
    // No identity here (no managed identity endpoint, authority unreachable): logged, waited out.
    const reason = error.message.split('\n')[0].slice(0, 160);
    return new AccessRefusedError(`no Entra ID credential available for ${who} (${reason})`);
  }
  if (error instanceof TransientError) return error;
  return new TransientError(`no Entra ID access token for ${who} (${error instanceof Error ? error.name : 'error'})`, {
    cause: error,
  });
}
