import { noAuth } from '@app/credentials';
import { createDicomwebClient, type DicomwebClient } from '../client.js';
import type { DicomwebClientOptions } from '../transport.js';
import type { FakeServer } from './fake-server.js';

/** What the client's unit tests share besides the server: UIDs, a fast client, promise helpers. */

export const FAST_RETRY = { attempts: 3, initialDelayMs: 5, maxDelayMs: 50 };
export const STUDY = '1.2.826.0.1.3680043.8.498.1';
export const SERIES = '1.2.826.0.1.3680043.8.498.2';
export const SOP = '1.2.826.0.1.3680043.8.498.3';

/** A client of `server` with short timeouts and backoff; `overrides` win. */
export function clientOf(server: FakeServer, overrides: Partial<DicomwebClientOptions> = {}): DicomwebClient {
  return createDicomwebClient({
    baseUrl: server.baseUrl,
    auth: noAuth(),
    timeoutMs: 2_000,
    retry: FAST_RETRY,
    ...overrides,
  });
}

export async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

export async function collect(iterable: AsyncIterable<Uint8Array>): Promise<Buffer[]> {
  const parts: Buffer[] = [];
  for await (const part of iterable) parts.push(Buffer.from(part));
  return parts;
}
