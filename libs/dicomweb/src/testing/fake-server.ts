import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { buildMultipartRelated } from '../multipart.js';

/**
 * A throwaway HTTP server on 127.0.0.1 for the client's unit tests: it records
 * every request and answers with whatever the test's handler writes. Orthanc
 * itself is exercised by test/integration/dicomweb-client.spec.ts.
 */

export interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export type Handler = (request: IncomingMessage, response: ServerResponse, body: Buffer, index: number) => unknown;

export class FakeServer {
  readonly seen: Seen[] = [];
  private handler: Handler = (_, response) => response.end();
  private readonly server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const index = this.seen.length;
      this.seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
      void Promise.resolve(this.handler(request, response, body, index)).catch(() => response.destroy());
    });
  });
  baseUrl = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/dicom-web`;
  }

  handle(handler: Handler): void {
    this.handler = handler;
  }

  reset(): void {
    this.seen.length = 0;
    this.server.closeAllConnections();
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A server for the calling spec file: started before its tests, reset after each, stopped at the end. */
export function useFakeServer(): FakeServer {
  const server = new FakeServer();
  beforeAll(() => server.start());
  afterEach(async () => {
    server.reset();
    // Let the client's pool see the closed keep-alive sockets before the next test.
    await delay(20);
  });
  afterAll(() => server.stop());
  return server;
}

export function json(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'Content-Type': 'application/dicom+json', ...headers });
  response.end(JSON.stringify(body));
}

/** Orthanc's error body: no Content-Type, JSON with Message and Details. */
export function orthancError(response: ServerResponse, status: number, message: string, details?: string): void {
  response.writeHead(status);
  response.end(JSON.stringify({ HttpStatus: status, Message: message, ...(details ? { Details: details } : {}) }));
}

export function multipart(response: ServerResponse, parts: Buffer[], type = 'application/dicom'): void {
  const built = buildMultipartRelated(parts, { type });
  response.writeHead(200, { 'Content-Type': built.contentType });
  response.end(built.body);
}
