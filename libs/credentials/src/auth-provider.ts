import type { Secret } from './secret.js';

/**
 * How requests authenticate, pluggable: a provider adds headers to every
 * request and may refresh its credentials once after a 401.
 *
 * Credentials live in closures, never in properties, so that logging or
 * inspecting a provider (or the client options holding it) shows nothing.
 */
export interface AuthProvider {
  /**
   * Headers for the next request (e.g. Authorization). Called before every attempt. Callers pass
   * the request: a signing provider (AWS SigV4) needs its method, URL and body and refuses
   * without them; token and password providers ignore it.
   */
  headers(request?: SignedRequest): Promise<Record<string, string>>;
  /**
   * Called once after a 401. Resolve true when new credentials are now in place
   * and repeating the request may succeed; false to give up.
   */
  refresh?(): Promise<boolean>;
}

/** What a request-signing provider signs. The body is what will be sent, byte for byte. */
export interface SignedRequest {
  method: string;
  url: string;
  body?: Uint8Array | string;
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
/** A token is replaced this long before it expires, or a fifth of its lifetime if that is shorter. */
const DEFAULT_EXPIRY_MARGIN_MS = 30_000;

export function noAuth(): AuthProvider {
  return { headers: () => Promise.resolve({}) };
}

/**
 * HTTP Basic (RFC 7617), UTF-8; what Orthanc's RegisteredUsers speaks. A password Secret read
 * from a file is read again when the file changes; after a 401 the request is repeated once
 * if the password changed since it was sent.
 */
export function basicAuth(username: string, password: string | Secret): AuthProvider {
  if (username.includes(':')) throw new TypeError('a basic-auth user name cannot contain ":"');
  const current = typeof password === 'string' ? () => password : password;
  const header = (secret: string) => {
    if (hasControlCharacter(username) || hasControlCharacter(secret)) {
      throw new TypeError('basic-auth credentials cannot contain control characters');
    }
    return `Basic ${Buffer.from(`${username}:${secret}`, 'utf8').toString('base64')}`;
  };
  if (typeof password === 'string') {
    const fixed = header(password);
    return { headers: () => Promise.resolve({ Authorization: fixed }) };
  }
  return changingSecret(current, header);
}

/**
 * A bearer token (RFC 6750): a fixed string, a Secret (a token file another process renews),
 * or a TokenSource for tokens that expire (OAuth2, cloud identity). A source's token is cached
 * until `expiresAt` minus a margin (30 s, or a fifth of its lifetime when that is shorter);
 * concurrent requests share one fetch; after a 401 the source is asked once with
 * `forceRefresh: true` and the request is repeated if the token changed.
 */
export function bearerToken(
  token: string | { secret: Secret } | TokenSource,
  options: { expiryMarginMs?: number; now?: () => number } = {},
): AuthProvider {
  if (typeof token === 'string') {
    const header = bearerHeader(token);
    return { headers: () => Promise.resolve({ Authorization: header }) };
  }
  if ('secret' in token) return changingSecret(token.secret, bearerHeader);
  const cache = tokenCache(token, options);
  return {
    async headers() {
      return { Authorization: bearerHeader(await cache.token()) };
    },
    refresh: () => cache.refresh(),
  };
}

/** The tokens of a TokenSource, cached: what bearerToken() sends, and what Kafka's OAUTHBEARER presents. */
export interface TokenCache {
  /** The cached token, or a new one when it is due for renewal (concurrent callers share one fetch). */
  token(): Promise<string>;
  /** Asks the source with `forceRefresh: true`; resolves true when the token changed. */
  refresh(): Promise<boolean>;
}

/**
 * A TokenSource's token, cached until `expiresAt` minus a margin (30 s, or a fifth of its
 * lifetime when that is shorter); concurrent callers share one fetch. A token that could not
 * travel in a header (empty, spaces, control characters) is refused with a TypeError.
 */
export function tokenCache(
  source: TokenSource,
  options: { expiryMarginMs?: number; now?: () => number } = {},
): TokenCache {
  const maxMargin = options.expiryMarginMs ?? DEFAULT_EXPIRY_MARGIN_MS;
  const now = options.now ?? Date.now;
  let cached: { token: string; renewAt: number } | undefined;
  let pending: Promise<string> | undefined;

  const fetchToken = (forceRefresh: boolean): Promise<string> => {
    pending ??= (async () => {
      try {
        const fetchedAt = now();
        const produced = await source({ forceRefresh });
        const next = typeof produced === 'string' ? { token: produced } : produced;
        bearerHeader(next.token); // throws for a token no header (or SASL message) may carry
        const margin =
          next.expiresAt === undefined ? 0 : Math.min(maxMargin, Math.max(0, next.expiresAt - fetchedAt) / 5);
        cached = {
          token: next.token,
          renewAt: next.expiresAt === undefined ? Infinity : next.expiresAt - margin,
        };
        return cached.token;
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };

  return {
    token: () => (cached && now() < cached.renewAt ? Promise.resolve(cached.token) : fetchToken(false)),
    async refresh() {
      const before = cached?.token;
      await fetchToken(true);
      return cached?.token !== before;
    },
  };
}

/** Headers from a Secret that may change; a refresh succeeds when it changed since last sent. */
function changingSecret(secret: Secret, header: (value: string) => string): AuthProvider {
  let sent: string | undefined;
  return {
    headers() {
      sent = secret();
      return Promise.resolve({ Authorization: header(sent) });
    },
    refresh: () => Promise.resolve(secret() !== sent),
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
