import { TooLargeError } from '@app/errors';
import { firstNumber, isDicomJsonDataset, items, TAG } from './dicom-json.js';
import { redact } from './query.js';
import { describeReason, isStoreResponse } from './stow.js';

/**
 * Reading what a server sent back, defensively: JSON that may not be JSON, error
 * bodies of any size, and the reason they give, which may echo our secrets.
 */

const MAX_REASON = 160;

/** The parsed body when it looks like a JSON object or array; undefined otherwise. */
export function parseJson(text: string): unknown {
  const trimmed = text.trimStart();
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return undefined;
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * The DICOM-level reason from an error response, short and without patient data: the
 * Warning header (PS3.18's short texts), STOW FailureReasons, Orthanc's Message (its
 * error-code text). Free text a server may fill with what it was sent (Orthanc's Details,
 * a generic "message") is left out; query values and credentials we sent are redacted,
 * length is capped. These reasons reach logs, TriageFailed and dead-letter headers.
 */
export function reasonFrom(response: Response, text: string, secrets: readonly string[]): string | undefined {
  const reasons: string[] = [];
  const warning = response.headers.get('warning');
  if (warning) reasons.push(warning.replace(/^\s*\d{3}\s+\S+\s*/, '').replace(/^"|"$/g, ''));
  const body = parseJson(text);
  if (isDicomJsonDataset(body)) {
    if (isStoreResponse(body)) {
      const failures = new Set(
        items(body, TAG.FailedSOPSequence)
          .map((item) => firstNumber(item, TAG.FailureReason))
          .filter((reason) => reason !== undefined),
      );
      for (const reason of failures) reasons.push(describeReason(reason));
    }
    const record = body as Record<string, unknown>;
    const message = record['Message'];
    if (typeof message === 'string' && message.length > 0) reasons.push(message);
  }
  if (reasons.length === 0) return undefined;
  const joined = redact(reasons.join('; '), secrets)
    .split('')
    .map((char) => (char < ' ' || char === '\x7f' ? ' ' : char))
    .join('')
    .replace(/\s+/g, ' ')
    .trim();
  return joined.length > MAX_REASON ? `${joined.slice(0, MAX_REASON - 1)}…` : joined;
}

/** At most `limit` bytes of the body as UTF-8; the rest is not downloaded. */
export async function readLimited(response: Response, limit: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    if (size >= limit) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
  return Buffer.concat(chunks).toString('utf8', 0, Math.min(size, limit));
}

/**
 * The whole body as UTF-8, refusing one larger than `limit` (TooLargeError) as soon as it
 * grows past it: a server's answer must not be able to exhaust our memory.
 */
export async function readText(response: Response, limit: number, what: string): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel().catch(() => undefined);
        throw new TooLargeError(what, limit);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Releases the connection of a response whose body is not wanted. */
export async function discard(response: Response): Promise<void> {
  if (response.body && !response.bodyUsed) await response.body.cancel().catch(() => undefined);
}
