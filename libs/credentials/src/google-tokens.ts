import { GoogleAuth, JWT, type AuthClient } from 'google-auth-library';
import { AccessRefusedError, TransientError } from '@app/errors';
import type { TokenSource } from './auth-provider.js';
import { watchedFile } from './secret.js';

/**
 * Google Cloud access tokens (the Healthcare API's DICOMweb) from google-auth-library: a
 * service-account key file (a JWT grant at Google's token endpoint), or without one Application
 * Default Credentials (on GKE with Workload Identity: the metadata server). The key file is read
 * at start-up and again when it changes. Uncached: bearerToken() caches and renews the tokens.
 */

export interface GoogleTokenOptions {
  keyFile?: string;
  /** Space-separated OAuth scopes. */
  scope: string;
  /** The setting naming the key file, for messages (DICOMWEB_GOOGLE_KEY_FILE). */
  setting: string;
  /** The HTTP client google-auth-library's token requests use (tests point it at a local endpoint). */
  fetch?: typeof fetch;
  onToken?: (event: { clientId: string; expiresInS?: number; scope?: string }) => void;
}

interface ServiceAccountKey {
  type: string;
  client_email: string;
  private_key: string;
}

export function googleTokens(options: GoogleTokenOptions): TokenSource {
  const key = options.keyFile ? watchedFile(options.keyFile, options.setting, parseKey) : undefined;
  let built: { key: ServiceAccountKey | undefined; client: Promise<AuthClient> } | undefined;
  const clientFor = (current: ServiceAccountKey | undefined) => {
    // A rotated key file gets a new client (google-auth-library keeps the key it was given).
    if (!built || built.key !== current) {
      const scopes = options.scope.split(' ');
      const clientOptions = options.fetch ? { transporterOptions: { fetchImplementation: options.fetch } } : {};
      const client = current
        ? Promise.resolve(new JWT({ email: current.client_email, key: current.private_key, scopes, ...clientOptions }))
        : new GoogleAuth({ scopes, clientOptions }).getClient();
      built = { key: current, client };
    }
    return built.client;
  };
  return async ({ forceRefresh }) => {
    const current = key?.();
    try {
      const client = await clientFor(current);
      if (forceRefresh) client.credentials = {};
      const { token } = await client.getAccessToken();
      if (!token) throw new TransientError('Google answered without an access token');
      const expiresAt = client.credentials.expiry_date ?? undefined;
      options.onToken?.({
        clientId: current?.client_email ?? 'application default credentials',
        ...(expiresAt ? { expiresInS: Math.round((expiresAt - Date.now()) / 1000) } : {}),
        scope: options.scope,
      });
      return expiresAt ? { token, expiresAt } : { token };
    } catch (error) {
      if (!(error instanceof TransientError)) built = undefined; // ADC looked up again next time
      throw googleFailure(error, current?.client_email);
    }
  };
}

function parseKey(text: string): ServiceAccountKey {
  const key = JSON.parse(text) as Partial<ServiceAccountKey>;
  if (key.type !== 'service_account' || !key.client_email || !key.private_key) {
    throw new TypeError('not a service-account key (type service_account, client_email, private_key)');
  }
  return key as ServiceAccountKey;
}

/** A refusal (bad key, disabled account) waits as an access refusal; anything else is transient. */
function googleFailure(error: unknown, account: string | undefined): Error {
  if (error instanceof TransientError) return error;
  const response = (error as { response?: { status?: number; data?: { error?: unknown } } }).response;
  const status = response?.status;
  const code = typeof response?.data?.error === 'string' ? response.data.error : undefined;
  const who = account ?? 'application default credentials';
  if (status !== undefined && status >= 400 && status < 500) {
    return new AccessRefusedError(`Google refused ${who}${code ? `: ${code}` : ` (HTTP ${status})`}`, status);
  }
  const reason = status ? `HTTP ${status}` : error instanceof Error ? error.message.slice(0, 160) : String(error);
  return new TransientError(`no Google access token for ${who} (${reason})`, { cause: error });
}
