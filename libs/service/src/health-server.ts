import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One readiness check: resolves when the dependency is usable, throws (with a reason) otherwise. */
export type ReadinessCheck = () => Promise<void> | void;

export interface HealthChecks {
  /** False only when the process can no longer do its work (e.g. the consumer crashed for good). */
  alive: () => { ok: boolean; reason?: string };
  ready: Record<string, ReadinessCheck>;
}

const CHECK_TIMEOUT_MS = 5_000;
/** Probes of remote servers are reused this long, so frequent probes do not load them. */
const CACHE_MS = 5_000;

/**
 * GET /health/live → 200 while the process can work; GET /health/ready → 200 when Kafka is
 * connected, the model loaded and the archive and FHIR server reachable, else 503 with the
 * failing checks. Plain node:http: the worker serves no other HTTP.
 */
export class HealthServer {
  private server?: Server;
  private cache?: { at: number; body: ReadinessBody };

  constructor(private readonly checks: HealthChecks) {}

  async listen(port: number, host = '0.0.0.0'): Promise<number> {
    this.server = createServer((request, response) => {
      const send = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        response.end(JSON.stringify(body));
      };
      const path = (request.url ?? '').split('?')[0];
      if (request.method !== 'GET') return send(405, { status: 'method not allowed' });
      if (path === '/health/live') {
        const live = this.checks.alive();
        return send(live.ok ? 200 : 503, {
          status: live.ok ? 'ok' : 'down',
          ...(live.reason ? { reason: live.reason } : {}),
        });
      }
      if (path === '/health/ready') {
        void this.readiness().then((body) => send(body.status === 'ok' ? 200 : 503, body));
        return;
      }
      send(404, { status: 'not found' });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  async readiness(): Promise<ReadinessBody> {
    if (this.cache && Date.now() - this.cache.at < CACHE_MS && this.cache.body.status === 'ok') return this.cache.body;
    const entries = await Promise.all(
      Object.entries(this.checks.ready).map(async ([name, check]) => [name, await runCheck(check)] as const),
    );
    const checks = Object.fromEntries(entries);
    const body: ReadinessBody = { status: entries.every(([, r]) => r.ok) ? 'ok' : 'not ready', checks };
    this.cache = { at: Date.now(), body };
    return body;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

interface ReadinessBody {
  status: 'ok' | 'not ready';
  checks: Record<string, { ok: boolean; reason?: string }>;
}

async function runCheck(check: ReadinessCheck): Promise<{ ok: boolean; reason?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(check),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS))),
    ]);
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}
