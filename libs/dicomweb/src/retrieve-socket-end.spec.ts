import { createServer, type AddressInfo, type Server } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noAuth } from '@app/credentials';
import { createDicomwebClient } from './client.js';
import { buildMultipartRelated } from './multipart.js';
import { SERIES, STUDY } from './testing/support.js';

/**
 * Regression test for the worker crash of undici issue 5360: the archive sends the
 * rest of a series and closes the connection while we are still decoding an
 * instance, so the response body is unread, backpressure pauses the HTTP parser,
 * and the socket ends. undici before 8.6 (Node 24's bundled 7.x included) then
 * asserted `!this.paused` in Parser.finish from the socket's 'end' handler: an
 * uncatchable AssertionError that killed the worker mid-retrieve. Seen failing
 * here on Node 24.21.0 (undici 7.29.1); passes on the Node in .nvmrc.
 *
 * A raw socket server, because the trigger is byte-level: more than undici's
 * 64 KiB high-water mark arrives in one piece together with FIN.
 */

const REST = 100_000;
const instances = [Buffer.alloc(1_000, 1), Buffer.alloc(REST / 2, 2), Buffer.alloc(REST / 2, 3)];
const built = buildMultipartRelated(instances, { type: 'application/dicom' });
let server: Server;
let baseUrl = '';

beforeAll(async () => {
  server = createServer((socket) => {
    socket.once('data', () => {
      const body = Buffer.from(built.body);
      const head =
        'HTTP/1.1 200 OK\r\n' +
        `Content-Type: ${built.contentType}\r\n` +
        `Content-Length: ${body.length}\r\n` +
        'Connection: close\r\n\r\n';
      const whole = Buffer.concat([Buffer.from(head, 'latin1'), body]);
      // The first instance now; the rest with FIN once the client is busy decoding it.
      const split = whole.length - REST;
      socket.write(whole.subarray(0, split));
      setTimeout(() => socket.end(whole.subarray(split)), 100);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dicom-web`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('retrieveSeries when the archive closes the connection while we decode', () => {
  it('delivers every instance without an uncaught error', async () => {
    const uncaught: unknown[] = [];
    const record = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', record);
    try {
      const client = createDicomwebClient({ baseUrl, auth: noAuth(), timeoutMs: 10_000 });
      const received: Buffer[] = [];
      for await (const instance of client.retrieveSeries(STUDY, SERIES)) {
        received.push(Buffer.from(instance));
        await delay(300); // decoding: nothing reads the body meanwhile
      }
      expect(received).toEqual(instances);
    } finally {
      process.off('uncaughtException', record);
    }
    expect(uncaught.map(String)).toEqual([]);
  });
});
