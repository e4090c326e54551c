import type { DicomwebAuth } from '@app/config';

/**
 * How requests authenticate, pluggable: a provider adds headers to every
 * request and may refresh its credentials once after a 401.
 *
 * Credentials live in closures, never in properties, so that logging or
 * inspecting a provider (or the client options holding it) shows nothing.
 */
export interface AuthProvider {
  /** Headers for the next request (e.g. Authorization). Called before every attempt. */
  headers(): Promise<Record<string, string>>;
  /**
   * Called once after a 401. Resolve true when new credentials are now in place
   * and repeating the request may succeed; false to give up (permanent error).
   */
  refresh?(): Promise<boolean>;
}

/** A bearer token, with its expiry when the issuer says (epoch ms). */
export interface BearerToken {
  token: string;
  expiresAt?: number;
}

/**
 * Produces a token: on the first request, after the last one expired, and with
 * `forceRefresh` after the server answered 401.
 */
export type TokenSource = (context: { forceRefresh: boolean }) => string | BearerToken | Promise<string | BearerToken>;

/** Characters allowed in a header value we build; anything else would let undici echo the value in its error. */
const HEADER_SAFE = /^[\x21-\x7e]+$/;

export function noAuth(): AuthProvider {
  return { headers: () => Promise.resolve({}) };
}

/** HTTP Basic (RFC 7617), UTF-8; what Orthanc's RegisteredUsers speaks. */
export function basicAuth(username: string, password: string): AuthProvider {
  if (username.includes(':')) throw new TypeError('a basic-auth user name cannot contain ":"');
  if (hasControlCharacter(username) || hasControlCharacter(password)) {
    throw new TypeError('basic-auth credentials cannot contain control characters');
  }
  const header = `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
  return { headers: () => Promise.resolve({ Authorization: header }) };
}

/**
 * A bearer token (RFC 6750): a fixed string, or a TokenSource for tokens that
 * expire (OAuth2, cloud identity). A source's token is cached until `expiresAt`
 * minus `expiryMarginMs`; concurrent requests share one fetch; after a 401 the
 * source is asked once with `forceRefresh: true` and the request is repeated if
 * the token changed.
 */
export function bearerToken(
  token: string | TokenSource,
  options: { expiryMarginMs?: number; now?: () => number } = {},
): AuthProvider {
  if (typeof token === 'string') {
    const header = bearerHeader(token);
    return { headers: () => Promise.resolve({ Authorization: header }) };
  }
  const source = token;
  const margin = options.expiryMarginMs ?? 30_000;
  const now = options.now ?? Date.now;
  let cached: { header: string; token: string; expiresAt?: number } | undefined;
  let pending: Promise<string> | undefined;

  const fetchToken = (forceRefresh: boolean): Promise<string> => {
    pending ??= (async () => {
      try {
        const produced = await source({ forceRefresh });
        const next = typeof produced === 'string' ? { token: produced } : produced;
        cached = { header: bearerHeader(next.token), token: next.token };
        if (next.expiresAt !== undefined) cached.expiresAt = next.expiresAt;
        return cached.header;
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };

  return {
    async headers() {
      const fresh = cached && (cached.expiresAt === undefined || now() < cached.expiresAt - margin);
      const header = fresh && cached ? cached.header : await fetchToken(false);
      return { Authorization: header };
    },
    async refresh() {
      const before = cached?.token;
      await fetchToken(true);
      return cached?.token !== before;
    },
  };
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

function bearerHeader(token: string): string {
  if (!HEADER_SAFE.test(token))
    throw new TypeError('the bearer token is empty or has characters not allowed in a header');
  return `Bearer ${token}`;
}

/** The provider for the service configuration (DICOMWEB_AUTH and friends). */
export function authFromConfig(config: DicomwebAuth): AuthProvider {
  switch (config.kind) {
    case 'none':
      return noAuth();
    case 'basic':
      return basicAuth(config.username, config.password);
    case 'bearer':
      return bearerToken(config.token);
  }
}
