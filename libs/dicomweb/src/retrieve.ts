import { TriageError } from '@app/errors';
import type { Attempt } from './attempt.js';
import { DicomwebResponseError, DicomwebUnavailableError, type DicomwebErrorDetails } from './errors.js';
import { transportFailure } from './failures.js';
import { boundaryOf, MultipartError, parseMultipartStream, type MultipartPart } from './multipart.js';
import { UID } from './paths.js';
import type { Transport } from './transport.js';

/**
 * WADO-RS bulk data: multipart/related responses, read whole (an instance, its
 * frames) or streamed one instance at a time (a series).
 */

export function multipartAccept(type: string, transferSyntax = '*'): string {
  if (transferSyntax !== '*' && !UID.test(transferSyntax)) throw new TypeError('transferSyntax must be "*" or a UID');
  return `multipart/related; type="${type}"; transfer-syntax=${transferSyntax}`;
}

/** Every part of the response, once the whole body has arrived. */
export function retrieveParts(
  transport: Transport,
  path: string,
  accept: string,
  signal: AbortSignal | undefined,
): Promise<MultipartPart[]> {
  const details = transport.details('GET', path);
  return transport.execute(
    { method: 'GET', path, accept, signal, notFound: 'STUDY_NOT_FOUND' },
    async (response, attempt) => {
      const parts: MultipartPart[] = [];
      for await (const part of partsOf(response, attempt, details)) parts.push(part);
      return parts;
    },
  );
}

/**
 * Each instance as soon as it has arrived, holding one in memory at a time.
 * Retried only until the first instance is yielded; a failure after that is a
 * DicomwebUnavailableError.
 */
export async function* streamInstances(
  transport: Transport,
  path: string,
  accept: string,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array, void, undefined> {
  const details = transport.details('GET', path);
  // The first part is read inside the retried exchange: failing before it is retried.
  const opened = await transport.execute(
    { method: 'GET', path, accept, signal, notFound: 'STUDY_NOT_FOUND', idleTimeout: true },
    async (response, current) => {
      const stream = partsOf(response, current, details);
      const next = await stream.next();
      return { parts: stream, attempt: current, first: next.done ? undefined : next.value.body };
    },
  );
  const { parts, attempt } = opened;
  // Nothing here keeps an instance once the consumer has it, so each can be collected when it is done.
  let pending = opened.first;
  opened.first = undefined;
  let delivered = 0;
  try {
    if (pending === undefined) return;
    // The idle clock measures the server, not the time the consumer spends on an instance.
    attempt.pause();
    yield pending;
    pending = undefined;
    attempt.resume();
    delivered++;
    for await (const part of parts) {
      attempt.pause();
      yield part.body;
      attempt.resume();
      delivered++;
    }
  } catch (error) {
    throw streamFailure(error, details, attempt, delivered, signal, transport.timeoutMs);
  } finally {
    attempt.dispose();
    await parts.return(undefined);
  }
}

function partsOf(
  response: Response,
  attempt: Attempt,
  details: DicomwebErrorDetails,
): AsyncGenerator<MultipartPart, void, undefined> {
  let boundary: string;
  try {
    boundary = boundaryOf(response.headers.get('content-type'));
  } catch (error) {
    throw new DicomwebResponseError({ ...details, status: response.status }, (error as Error).message);
  }
  if (!response.body) throw new DicomwebResponseError({ ...details, status: response.status }, 'empty response body');
  return parseMultipartStream(response.body, boundary, { onChunk: () => attempt.touch() });
}

/** Classifies an error thrown while a streamed series was being consumed. */
function streamFailure(
  error: unknown,
  details: DicomwebErrorDetails,
  attempt: Attempt,
  delivered: number,
  signal: AbortSignal | undefined,
  timeoutMs: number,
): unknown {
  if (signal?.aborted) return signal.reason;
  if (error instanceof TriageError) return error;
  if (error instanceof MultipartError && !error.truncated) return new DicomwebResponseError(details, error.message);
  const failure = transportFailure(error, attempt, timeoutMs);
  if (!failure) return error;
  const instances = delivered === 1 ? '1 instance' : `${delivered} instances`;
  return new DicomwebUnavailableError(
    { ...details, attempts: attempt.number },
    `connection lost after ${instances} had been received: ${failure.summary}`,
    { cause: error },
  );
}
