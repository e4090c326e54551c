import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The HTTP endpoint a platform pushes notifications to (Pub/Sub push, Event Grid webhooks). One
 * path; a request must carry the shared token, as `?token=` (both platforms let the subscription's
 * URL hold it) or `Authorization: Bearer`; bodies over 1 MiB are refused (Event Grid's limit for a
 * batch). The handler's answer is sent only once it resolved: for the sources, once the state is
 * durable, which is what the platform's retry then relies on.
 */

export interface PushRequest {
  method: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface PushResponse {
  status: number;
  headers?: Record<string, string>;
  /** JSON-encoded when present. */
  body?: unknown;
}

export interface PushEndpointOptions {
  port: number;
  host?: string;
  /** e.g. /eventgrid, /pubsub */
  path: string;
  /** The shared token, read on each request (a rotated Secret file takes effect at once). */
  token: () => string;
}

const MAX_BODY_BYTES = 1024 * 1024;

export class PushEndpoint {
  /** The port it listens on, once serving (0 asks for a free one). */
  port?: number;

  constructor(private readonly options: PushEndpointOptions) {}

  /** Serves until the signal aborts (then closes); rejects when it cannot listen. */
  async serve(handler: (request: PushRequest) => Promise<PushResponse>, signal: AbortSignal): Promise<void> {
    const server = createServer((request, response) => {
      void this.answer(request, response, handler);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host ?? '0.0.0.0', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => {
      const close = () => {
        server.close(() => resolve());
        server.closeAllConnections();
      };
      if (signal.aborted) close();
      else signal.addEventListener('abort', close, { once: true });
    });
  }

  private async answer(
    request: IncomingMessage,
    response: ServerResponse,
    handler: (request: PushRequest) => Promise<PushResponse>,
  ): Promise<void> {
    const send = ({ status, headers = {}, body }: PushResponse) => {
      const text = body === undefined ? undefined : JSON.stringify(body);
      response.writeHead(status, { ...(text ? { 'content-type': 'application/json' } : {}), ...headers });
      response.end(text);
    };
    try {
      const url = new URL(request.url ?? '/', 'http://push');
      if (url.pathname !== this.options.path) return send({ status: 404 });
      if (!this.authorized(url, request.headers)) {
        request.resume();
        return send({ status: 401 });
      }
      const body = await readBody(request);
      if (body === undefined) return send({ status: 413 });
      send(await handler({ method: request.method ?? 'GET', headers: request.headers, body }));
    } catch {
      // The handler's own failures are answers (503); this is only a broken connection or a bug.
      if (!response.headersSent) send({ status: 500 });
    }
  }

  private authorized(url: URL, headers: IncomingHttpHeaders): boolean {
    const expected = Buffer.from(this.options.token());
    const bearer = /^Bearer (\S+)$/.exec(headers.authorization ?? '')?.[1];
    const offered = Buffer.from(url.searchParams.get('token') ?? bearer ?? '');
    return offered.length === expected.length && timingSafeEqual(offered, expected);
  }
}

async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
