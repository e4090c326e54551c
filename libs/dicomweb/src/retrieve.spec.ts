import type { ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { DicomwebResponseError, DicomwebUnavailableError } from './errors.js';
import { buildMultipartRelated } from './multipart.js';
import { json, multipart, useFakeServer } from './testing/fake-server.js';
import { caught, clientOf, collect, SERIES, SOP, STUDY } from './testing/support.js';
import type { DicomwebClientOptions } from './transport.js';

/**
 * WADO-RS bulk retrieval (streamed series, instances, frames) against a
 * throwaway HTTP server, including a server that stalls or drops mid-stream.
 */

const server = useFakeServer();
const client = (overrides?: Partial<DicomwebClientOptions>) => clientOf(server, overrides);
const instances = [Buffer.from('first instance'), Buffer.alloc(70_000, 7), Buffer.from('third')];

/**
 * Writes a multipart response part by part, with a pause between writes, and
 * optional sabotage once `failAfter` / `stallAfter` instances are complete
 * (an instance is complete when the delimiter after it has been sent).
 */
function streamParts(
  response: ServerResponse,
  options: { failAfter?: number; stallAfter?: number; omitClose?: boolean } = {},
): Promise<void> {
  const built = buildMultipartRelated(instances, { type: 'application/dicom' });
  const pieces: Buffer[] = [];
  const body = Buffer.from(built.body);
  let start = 0;
  let at = body.indexOf(`--${built.boundary}`, 1);
  while (at > 0) {
    pieces.push(body.subarray(start, at));
    start = at;
    at = body.indexOf(`--${built.boundary}`, at + 1);
  }
  pieces.push(body.subarray(start));
  response.writeHead(200, { 'Content-Type': built.contentType });
  return (async () => {
    for (const [i, piece] of pieces.entries()) {
      // pieces[i + 1] completes instance i (its delimiter follows it).
      if (options.failAfter === i - 1) return void response.destroy();
      if (options.stallAfter === i - 1) return;
      if (options.omitClose && i === pieces.length - 1) return void response.end();
      response.write(piece);
      await delay(5);
    }
    response.end();
  })();
}

describe('retrieveSeries (streaming)', () => {
  it('yields every instance byte for byte, asking for the stored transfer syntax', async () => {
    server.handle((_, response) => streamParts(response));
    const received = await collect(client().retrieveSeries(STUDY, SERIES));
    expect(received).toEqual(instances);
    expect(server.seen[0].url).toBe(`/dicom-web/studies/${STUDY}/series/${SERIES}`);
    expect(server.seen[0].headers.accept).toBe('multipart/related; type="application/dicom"; transfer-syntax=*');
  });

  it('asks for an explicit transfer syntax', async () => {
    server.handle((_, response) => multipart(response, instances));
    await collect(client().retrieveSeries(STUDY, SERIES, { transferSyntax: '1.2.840.10008.1.2.1' }));
    expect(server.seen[0].headers.accept).toBe(
      'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1',
    );
  });

  it('retries when the connection fails before the first instance', async () => {
    // The first attempt sends the headers and most of the first instance, then drops.
    server.handle((_, response, __, index) => streamParts(response, index === 0 ? { failAfter: 0 } : {}));
    expect(await collect(client().retrieveSeries(STUDY, SERIES))).toEqual(instances);
    expect(server.seen).toHaveLength(2);
  });

  it('does not retry once an instance was yielded', async () => {
    server.handle((_, response) => streamParts(response, { failAfter: 1 }));
    const received: Buffer[] = [];
    const error = await caught(
      (async () => {
        for await (const part of client().retrieveSeries(STUDY, SERIES)) received.push(Buffer.from(part));
      })(),
    );
    expect(received).toEqual([instances[0]]);
    expect(error).toBeInstanceOf(DicomwebUnavailableError);
    expect((error as Error).message).toContain('connection lost after 1 instance had been received');
    expect(server.seen).toHaveLength(1);
  });

  it('applies the timeout to silence, not to the whole transfer', async () => {
    // 3 parts with 5 ms pauses fit easily in a 150 ms idle timeout...
    server.handle((_, response) => streamParts(response));
    expect(await collect(client({ timeoutMs: 150 }).retrieveSeries(STUDY, SERIES))).toHaveLength(3);
    // ...but a stall after the first part does not.
    server.handle((_, response) => streamParts(response, { stallAfter: 1 }));
    const error = await caught(collect(client({ timeoutMs: 150 }).retrieveSeries(STUDY, SERIES)));
    expect(error).toBeInstanceOf(DicomwebUnavailableError);
    expect((error as Error).message).toContain('no data for 150 ms');
  });

  it('does not count the time the consumer spends on an instance', async () => {
    server.handle((_, response) => multipart(response, instances));
    const received: Buffer[] = [];
    for await (const part of client({ timeoutMs: 100 }).retrieveSeries(STUDY, SERIES)) {
      received.push(Buffer.from(part));
      await delay(250);
    }
    expect(received).toEqual(instances);
  });

  it('reports a body that ends without the close delimiter', async () => {
    server.handle((_, response) => streamParts(response, { omitClose: true }));
    const error = await caught(collect(client().retrieveSeries(STUDY, SERIES)));
    expect(error).toBeInstanceOf(DicomwebUnavailableError);
    expect((error as Error).message).toContain('truncated');
  });

  it('closes the connection when the consumer stops early', async () => {
    let closed = false;
    server.handle((_, response) => {
      response.on('close', () => {
        closed = true;
      });
      return streamParts(response, { stallAfter: 1 });
    });
    for await (const part of client().retrieveSeries(STUDY, SERIES)) {
      expect(Buffer.from(part)).toEqual(instances[0]);
      break;
    }
    await delay(50);
    expect(closed).toBe(true);
  });

  it('refuses a non-multipart answer as a permanent error', async () => {
    server.handle((_, response) => json(response, 200, []));
    const error = await caught(collect(client().retrieveSeries(STUDY, SERIES)));
    expect(error).toBeInstanceOf(DicomwebResponseError);
    expect(server.seen).toHaveLength(1);
  });
});

describe('retrieveInstance and retrieveFrames', () => {
  it('returns one instance', async () => {
    server.handle((_, response) => multipart(response, [instances[1]]));
    const bytes = await client().retrieveInstance(STUDY, SERIES, SOP);
    expect(Buffer.from(bytes)).toEqual(instances[1]);
    expect(server.seen[0].url).toBe(`/dicom-web/studies/${STUDY}/series/${SERIES}/instances/${SOP}`);
  });

  it('returns frames in order, asking for multipart octet-stream', async () => {
    const frames = [Buffer.from([1, 2, 3, 4]), Buffer.from([5, 6, 7, 8])];
    server.handle((_, response) => {
      const built = buildMultipartRelated(frames, { type: 'application/octet-stream' });
      // Orthanc's variant: transfer-syntax inside the quoted type parameter.
      response.writeHead(200, {
        'Content-Type': `multipart/related; type="application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"; boundary=${built.boundary}`,
      });
      response.end(built.body);
    });
    const received = await client().retrieveFrames(STUDY, SERIES, SOP, [1, 3]);
    expect(received.map((f) => Buffer.from(f))).toEqual(frames);
    expect(server.seen[0].url).toBe(`/dicom-web/studies/${STUDY}/series/${SERIES}/instances/${SOP}/frames/1,3`);
    expect(server.seen[0].headers.accept).toBe('multipart/related; type="application/octet-stream"; transfer-syntax=*');
  });

  it('refuses a part count that does not match', async () => {
    server.handle((_, response) => multipart(response, instances));
    await expect(client().retrieveInstance(STUDY, SERIES, SOP)).rejects.toBeInstanceOf(DicomwebResponseError);
    await expect(client().retrieveFrames(STUDY, SERIES, SOP, [1])).rejects.toBeInstanceOf(DicomwebResponseError);
  });
});
