/**
 * The URL attributes of an HTTP client span with every query value replaced by `…`
 * (`?StudyInstanceUID=…&includefield=…`): keys tell what was asked, values may identify.
 * Returns nothing when the URL cannot be parsed (the instrumentation then skips the span).
 */
export function redactQueryValues(origin: string, path: string): Record<string, string> | undefined {
  let url: URL;
  try {
    url = new URL(path, origin);
  } catch {
    return undefined;
  }
  if (!url.search) return undefined;
  const keys = [...new Set(url.searchParams.keys())].map((key) => `${encodeURIComponent(key)}=…`);
  const query = `?${keys.join('&')}`;
  return { 'url.full': `${url.origin}${url.pathname}${query}`, 'url.query': query };
}
