import type { AuthProvider } from './auth-provider.js';

/**
 * fetch with a provider's headers. After a 401 the provider refreshes once and, when it found
 * new credentials (an expired token replaced, a rotated secret file), the request is repeated
 * once; the second answer is the caller's to judge. Bodies must be strings (sent twice).
 */
export function authorizedFetch(auth: AuthProvider, doFetch: typeof fetch = globalThis.fetch) {
  return async (url: string, init: RequestInit & { body?: string } = {}): Promise<Response> => {
    const send = async () => {
      const headers = new Headers(init.headers);
      for (const [name, value] of Object.entries(
        await auth.headers({
          method: init.method ?? 'GET',
          url,
          ...(init.body === undefined ? {} : { body: init.body }),
        }),
      ))
        headers.set(name, value);
      return doFetch(url, { ...init, headers });
    };
    const response = await send();
    if (response.status !== 401 || !auth.refresh || !(await auth.refresh())) return response;
    await response.body?.cancel();
    return send();
  };
}
