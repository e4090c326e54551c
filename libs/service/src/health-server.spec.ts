import { afterEach, describe, expect, it } from 'vitest';
import { HealthServer } from './health-server.js';
import { JsonLogger } from './json-logger.js';

describe('HealthServer', () => {
  let server: HealthServer | undefined;
  afterEach(async () => server?.close());

  it('is ready only when every check passes, and says which one fails', async () => {
    let fhirUp = false;
    server = new HealthServer({
      alive: () => ({ ok: true }),
      ready: {
        kafka: () => undefined,
        fhir: async () => {
          if (!fhirUp) throw new Error('connection refused');
        },
      },
    });
    const port = await server.listen(0, '127.0.0.1');
    const notReady = await fetch(`http://127.0.0.1:${port}/health/ready`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({
      status: 'not ready',
      checks: { kafka: { ok: true }, fhir: { ok: false, reason: 'connection refused' } },
    });
    fhirUp = true;
    expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404);
  });

  it('reports not alive once the worker cannot work any more', async () => {
    server = new HealthServer({ alive: () => ({ ok: false, reason: 'consumer crashed' }), ready: {} });
    const port = await server.listen(0, '127.0.0.1');
    const response = await fetch(`http://127.0.0.1:${port}/health/live`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ status: 'down', reason: 'consumer crashed' });
  });
});

describe('JsonLogger', () => {
  it('writes one JSON object per line with the correlation fields, filtered by level', () => {
    const lines: string[] = [];
    const log = new JsonLogger('info', { service: 's' }, (line) => void lines.push(line)).child({
      studyInstanceUid: '1.2.3',
    });
    log.write('debug', 'hidden');
    log.info('shown', { step: 'analyze' });
    log.error(new Error('boom'), 'NestContext');
    expect(lines).toHaveLength(2);
    expect(lines.every((line) => line.endsWith('\n'))).toBe(true);
    expect(JSON.parse(lines[0])).toMatchObject({
      level: 'info',
      msg: 'shown',
      service: 's',
      studyInstanceUid: '1.2.3',
      step: 'analyze',
    });
    expect(JSON.parse(lines[1])).toMatchObject({ level: 'error', msg: 'boom', context: 'NestContext' });
  });
});
