import { AccessRefusedError, TransientError } from '@app/errors';
import type { BearerToken, TokenSource } from './auth-provider.js';
import { signClientAssertion, type SigningKey } from './client-assertion.js';
import { fetchFailureCode } from './fetch-failure.js';
import type { Secret } from './secret.js';

/**
 * OAuth2 client_credentials grant (RFC 6749 §4.4) as a TokenSource: a client secret
 * (client_secret_basic or _post) or a signed JWT assertion (private_key_jwt, SMART Backend
 * Services). Caching and refresh before expiry are bearerToken()'s; this only asks.
 */

export type ClientAuthentication =
  | { method: 'client_secret_basic' | 'client_secret_post'; secret: Secret }
  | { method: 'private_key_jwt'; signingKey: () => SigningKey; keyId?: string };

export interface ClientCredentialsOptions {
  tokenUrl: string;
  clientId: string;
  scope?: string;
  authentication: ClientAuthentication;
  timeoutMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
  /** Told about each token obtained (never the token), for logs and metrics. */
  onToken?: (event: { clientId: string; expiresInS?: number; scope?: string }) => void;
}

/** Error codes of RFC 6749 §5.2: the only words of a refusal repeated in our messages. */
const OAUTH_ERRORS = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
]);
const DEFAULT_TIMEOUT_MS = 10_000;
const TOKEN_SAFE = /^[\x21-\x7e]+$/;

export function clientCredentialsTokens(options: ClientCredentialsOptions): TokenSource {
  const doFetch = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  const endpoint = `the token endpoint ${new URL(options.tokenUrl).origin}`;

  return async (): Promise<BearerToken> => {
    const { headers, form } = requestOf(options, now());
    let response: Response;
    try {
      response = await doFetch(options.tokenUrl, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        // A redirect would carry the client's secret or assertion to wherever it points.
        redirect: 'error',
        signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
    } catch (error) {
      throw new TransientError(`${endpoint} is unreachable (${fetchFailureCode(error)})`, { cause: error });
    }
    const body = await response.json().catch(() => undefined);
    if (!response.ok) {
      if (response.status === 429 || response.status >= 500) {
        throw new TransientError(`${endpoint} answered HTTP ${response.status}`);
      }
      const code = (body as { error?: unknown } | undefined)?.error;
      const reason = typeof code === 'string' && OAUTH_ERRORS.has(code) ? code : `HTTP ${response.status}`;
      throw new AccessRefusedError(`${endpoint} refused client ${options.clientId}: ${reason}`, response.status);
    }
    const token = body as { access_token?: unknown; token_type?: unknown; expires_in?: unknown; scope?: unknown };
    if (
      typeof token?.access_token !== 'string' ||
      !TOKEN_SAFE.test(token.access_token) ||
      typeof token.token_type !== 'string' ||
      token.token_type.toLowerCase() !== 'bearer'
    ) {
      throw new TransientError(`${endpoint} answered without a bearer access_token`);
    }
    const expiresInS = typeof token.expires_in === 'number' && token.expires_in > 0 ? token.expires_in : undefined;
    options.onToken?.({
      clientId: options.clientId,
      ...(expiresInS === undefined ? {} : { expiresInS }),
      ...(typeof token.scope === 'string' ? { scope: token.scope } : {}),
    });
    return {
      token: token.access_token,
      ...(expiresInS === undefined ? {} : { expiresAt: now() + expiresInS * 1000 }),
    };
  };
}

function requestOf(options: ClientCredentialsOptions, nowMs: number) {
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (options.scope) form.set('scope', options.scope);
  const headers: Record<string, string> = {};
  const auth = options.authentication;
  switch (auth.method) {
    case 'client_secret_basic': {
      // RFC 6749 §2.3.1: each part form-encoded before base64.
      const pair = `${formEncode(options.clientId)}:${formEncode(auth.secret())}`;
      headers['authorization'] = `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
      break;
    }
    case 'client_secret_post':
      form.set('client_id', options.clientId);
      form.set('client_secret', auth.secret());
      break;
    case 'private_key_jwt':
      form.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      form.set(
        'client_assertion',
        signClientAssertion(auth.signingKey(), {
          clientId: options.clientId,
          audience: options.tokenUrl,
          nowS: Math.floor(nowMs / 1000),
          ...(auth.keyId === undefined ? {} : { keyId: auth.keyId }),
        }),
      );
      break;
  }
  return { headers, form };
}

function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}
