/**
 * QIDO-RS query strings (PS3.18 8.3.4 and 10.6) and URLs that are safe to log.
 */

export type QidoValue = string | number | boolean | readonly (string | number)[] | undefined;

/**
 * Attribute matching by keyword (`PatientID`) or tag (`00100020`), dotted for
 * sequences (`00400275.00401001`); an array is a UID list (joined with ",").
 * Wildcards `*` and `?` and ranges `a-b` pass through as written.
 */
export interface QidoQuery {
  /** Extra attributes to return; 'all' for every one the server has. */
  includefield?: readonly string[] | 'all';
  limit?: number;
  offset?: number;
  fuzzymatching?: boolean;
  [attribute: string]: QidoValue;
}

const ATTRIBUTE = /^(?:[A-Za-z][A-Za-z0-9]*|[0-9A-Fa-f]{8})(?:\.(?:[A-Za-z][A-Za-z0-9]*|[0-9A-Fa-f]{8}))*$/;
const RESERVED = new Set(['includefield', 'limit', 'offset', 'fuzzymatching']);

/**
 * Percent-encodes a query value, but leaves the characters that are legal in a
 * URL query as they are: DICOM wildcards (`*`, `?`), PN component separators
 * (`^`), list commas, `:` `/` `@` `$` `;`. Orthanc 1.10 does not percent-decode
 * QIDO values, so `PHANTOM%5E*` would match nothing there while `PHANTOM^*`
 * does; conforming servers decode both the same. `&`, `=`, `+`, `#`, `%`,
 * spaces and non-ASCII are always encoded.
 */
export function encodeQueryValue(value: string): string {
  return encodeURIComponent(value).replace(/%(5E|3F|2C|3A|2F|40|24|3B)/gi, (escape) => decodeURIComponent(escape));
}

/** The query string (without "?") and the values it carries, for redaction. */
export function encodeQidoQuery(query: QidoQuery = {}): { search: string; values: string[] } {
  const pairs: string[] = [];
  const values: string[] = [];
  for (const [key, raw] of Object.entries(query)) {
    if (raw === undefined || RESERVED.has(key)) continue;
    if (!ATTRIBUTE.test(key)) throw new TypeError(`QIDO attribute "${key}" is neither a keyword nor a tag`);
    if (typeof raw === 'boolean') throw new TypeError(`QIDO attribute "${key}" cannot match a boolean`);
    const text = typeof raw === 'string' || typeof raw === 'number' ? String(raw) : raw.map(String).join(',');
    values.push(text);
    pairs.push(`${key}=${encodeQueryValue(text)}`);
  }
  const { includefield, limit, offset, fuzzymatching } = query;
  if (includefield === 'all') pairs.push('includefield=all');
  else if (includefield !== undefined) {
    for (const field of includefield) {
      if (!ATTRIBUTE.test(field)) throw new TypeError(`includefield "${field}" is neither a keyword nor a tag`);
      // Repeated parameters: Orthanc ignores a comma-separated list that was percent-encoded.
      pairs.push(`includefield=${field}`);
    }
  }
  for (const [name, number] of [
    ['limit', limit],
    ['offset', offset],
  ] as const) {
    if (number === undefined) continue;
    if (!Number.isSafeInteger(number) || number < 0) throw new RangeError(`QIDO ${name} must be an integer ≥ 0`);
    pairs.push(`${name}=${number}`);
  }
  if (fuzzymatching !== undefined) pairs.push(`fuzzymatching=${fuzzymatching}`);
  return { search: pairs.join('&'), values };
}

/** Origin and path, without user-info, and with every query value replaced by "…". */
export function safeUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '(invalid URL)';
  }
  const keys = [...new URLSearchParams(parsed.search).keys()].map((key) => `${encodeURIComponent(key)}=…`);
  return `${parsed.origin}${parsed.pathname}${keys.length ? `?${keys.join('&')}` : ''}`;
}

/** Replaces each of `secrets` (query values we sent) in a server-provided text. */
export function redact(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length >= 2) result = result.split(secret).join('…');
  }
  return result;
}
