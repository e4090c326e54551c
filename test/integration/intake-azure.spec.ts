import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bearerToken } from '@app/credentials';
import { AccessRefusedError, TransientError } from '@app/errors';
import {
  AzureChangeFeedSource,
  EventGridWebhookSource,
  PushEndpoint,
  type InstanceNotification,
  type SourceReport,
} from '@app/intake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  changeFeedEntry,
  cloudEvent,
  eventGridEvent,
  SERIES,
  SERVICE_HOST,
  sop,
  STUDY,
  VALIDATION_CODE,
  validationEvent,
  type ChangeFeedEntry,
} from '../fixtures/cloud/azure-dicom.js';

/**
 * The intake's Azure adapters through their real code paths against local servers: a change feed
 * server answering API v2's query (startTime, offset within the window, limit) from documented
 * entries, and Event Grid deliveries (both schemas, the validation handshakes) posted to the
 * webhook. No Azure emulator covers the DICOM service (Azurite does not): contract only.
 */

class Reports implements SourceReport {
  readonly malformedReasons: string[] = [];
  readonly skippedReasons: string[] = [];
  malformed(reason: string): void {
    this.malformedReasons.push(reason);
  }
  skipped(reason: string): void {
    this.skippedReasons.push(reason);
  }
  warn(): void {}
}

let feed: ChangeFeedEntry[] = [];
let feedStatus = 200;
const feedRequests: { url: string; headers: IncomingHttpHeaders }[] = [];
let server: Server;
let serviceUrl = '';

beforeAll(async () => {
  server = createServer((request, response) => {
    feedRequests.push({ url: request.url ?? '', headers: request.headers });
    const url = new URL(request.url ?? '/', 'http://local');
    const json = (value: unknown) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(value));
    };
    if (feedStatus !== 200) return void response.writeHead(feedStatus).end();
    if (url.pathname === '/v2/changefeed/latest') return json(feed.at(-1) ?? null);
    if (url.pathname !== '/v2/changefeed') return void response.writeHead(404).end();
    // API v2: entries in [startTime, endTime), ordered by Sequence; offset skips within that window.
    const start = url.searchParams.get('startTime') ?? '0001-01-01T00:00:00Z';
    const offset = Number(url.searchParams.get('offset') ?? 0);
    const limit = Number(url.searchParams.get('limit') ?? 100);
    const window = feed
      .filter((e) => Date.parse(e.Timestamp) >= Date.parse(start))
      .toSorted((a, b) => a.Sequence - b.Sequence);
    json(window.slice(offset, offset + limit));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serviceUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

const changeFeed = (report = new Reports(), limit = 2) =>
  new AzureChangeFeedSource({ store: 'azure', serviceUrl, auth: bearerToken('entra-token'), report, limit });
const signal = new AbortController().signal;

describe('Azure DICOM change feed (v2), against a local server replaying documented entries', () => {
  it('starts at /changefeed/latest, then reads creates and updates in Sequence order; deletes pass; the cursor survives as text', async () => {
    feed = [changeFeedEntry(1, '2026-12-08T00:00:01Z')];
    const source = changeFeed();
    const first = await source.poll(undefined, signal);
    expect(first.notifications).toEqual([]);
    expect(JSON.parse(first.cursor)).toEqual({ sequence: 1, time: '2026-12-08T00:00:01Z' });
    feed.push(
      changeFeedEntry(2, '2026-12-08T00:00:02Z'),
      changeFeedEntry(3, '2026-12-08T00:00:02Z', 'delete', 'deleted'),
      changeFeedEntry(4, '2026-12-08T00:00:03Z', 'update'),
    );
    const notifications: InstanceNotification[] = [];
    let cursor = first.cursor;
    for (let i = 0; i < 5; i++) {
      const batch = await source.poll(cursor, signal);
      notifications.push(...batch.notifications);
      cursor = batch.cursor;
      if (!batch.more) break;
    }
    expect(notifications.map((n) => n.sopInstanceUid)).toEqual([sop(2), sop(4)]);
    expect(notifications[0]).toEqual({
      store: 'azure',
      level: 'instance',
      studyInstanceUid: STUDY,
      seriesInstanceUid: SERIES,
      sopInstanceUid: sop(2),
    });
    expect(JSON.parse(cursor)).toEqual({ sequence: 4, time: '2026-12-08T00:00:03Z' });
    expect(feedRequests.at(-1)?.headers.authorization).toBe('Bearer entra-token');
    // Nothing new: the same cursor, nothing repeated (the entry at the cursor's time is skipped by Sequence).
    const again = await source.poll(cursor, signal);
    expect(again.notifications).toEqual([]);
    expect(again.cursor).toBe(cursor);
  });

  it('many entries with one timestamp across pages: each announced once', async () => {
    feed = Array.from({ length: 7 }, (_, i) => changeFeedEntry(i + 10, '2026-12-08T00:01:00Z'));
    const source = changeFeed(new Reports(), 2);
    let cursor = JSON.stringify({ sequence: 9, time: '2026-12-08T00:00:59Z' });
    const seen: string[] = [];
    for (let i = 0; i < 20; i++) {
      const batch = await source.poll(cursor, signal);
      seen.push(...batch.notifications.map((n) => n.sopInstanceUid!));
      cursor = batch.cursor;
      if (!batch.more && batch.notifications.length === 0) break;
    }
    expect(seen).toEqual(feed.map((e) => e.SopInstanceUid));
  });

  it('a bad entry is reported and passed; the service down or refusing: transient errors, the cursor kept', async () => {
    feed = [
      { ...changeFeedEntry(20, '2026-12-08T00:02:00Z'), StudyInstanceUid: 'not-a-uid' },
      changeFeedEntry(21, '2026-12-08T00:02:00Z'),
    ];
    const report = new Reports();
    const batch = await changeFeed(report).poll(JSON.stringify({ sequence: 19, time: '2026-12-08T00:02:00Z' }), signal);
    expect(batch.notifications.map((n) => n.sopInstanceUid)).toEqual([sop(21)]);
    expect(report.malformedReasons).toEqual(['change feed entry without valid UIDs']);
    try {
      feedStatus = 503;
      await expect(changeFeed().poll(batch.cursor, signal)).rejects.toBeInstanceOf(TransientError);
      feedStatus = 401;
      await expect(changeFeed().poll(batch.cursor, signal)).rejects.toBeInstanceOf(AccessRefusedError);
    } finally {
      feedStatus = 200;
    }
  });
});

describe('Azure DICOM events through the Event Grid webhook', () => {
  const token = 'push-s3cret';
  let endpoint: PushEndpoint;
  let stop: AbortController;
  let running: Promise<void>;
  let report: Reports;
  const accepted: InstanceNotification[][] = [];
  let acceptFails = false;

  beforeAll(async () => {
    endpoint = new PushEndpoint({ port: 0, host: '127.0.0.1', path: '/eventgrid', token: () => token });
    report = new Reports();
    stop = new AbortController();
    const source = new EventGridWebhookSource({ store: 'azure', serviceHost: SERVICE_HOST, endpoint, report });
    running = source.run(
      (n) => {
        accepted.push(n);
        return acceptFails ? Promise.reject(new Error('state not written')) : Promise.resolve();
      },
      stop.signal,
      () => undefined,
    );
    while (endpoint.port === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
  });
  afterAll(async () => {
    stop.abort();
    await running;
  });

  const post = (body: unknown, contentType = 'application/json', query = `?token=${token}`) =>
    fetch(`http://127.0.0.1:${endpoint.port}/eventgrid${query}`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: JSON.stringify(body),
    });

  it('answers the Event Grid validation handshake with the code, and the CloudEvents OPTIONS handshake with the origin', async () => {
    const validation = await post(validationEvent);
    expect(validation.status).toBe(200);
    expect(await validation.json()).toEqual({ validationResponse: VALIDATION_CODE });
    const options = await fetch(`http://127.0.0.1:${endpoint.port}/eventgrid?token=${token}`, {
      method: 'OPTIONS',
      headers: { 'WebHook-Request-Origin': 'eventgrid.azure.net' },
    });
    expect(options.status).toBe(200);
    expect(options.headers.get('webhook-allowed-origin')).toBe('eventgrid.azure.net');
  });

  it('DicomImageCreated in either schema becomes an instance notification; 200 once durable', async () => {
    accepted.length = 0;
    expect((await post([eventGridEvent(1)])).status).toBe(200);
    expect((await post(cloudEvent(2), 'application/cloudevents+json; charset=utf-8')).status).toBe(200);
    expect((await post([cloudEvent(3), cloudEvent(4)], 'application/cloudevents-batch+json')).status).toBe(200);
    expect(accepted.map((batch) => batch.map((n) => n.sopInstanceUid))).toEqual([[sop(1)], [sop(2)], [sop(3), sop(4)]]);
    expect(accepted[0]).toEqual([
      { store: 'azure', level: 'instance', studyInstanceUid: STUDY, seriesInstanceUid: SERIES, sopInstanceUid: sop(1) },
    ]);
  });

  it('not durable: 503 (Event Grid retries); a wrong token: 401; deleted, foreign and malformed events: reported, 400 only for malformed', async () => {
    accepted.length = 0;
    acceptFails = true;
    try {
      expect((await post([eventGridEvent(5)])).status).toBe(503);
    } finally {
      acceptFails = false;
    }
    expect((await post([eventGridEvent(5)], 'application/json', '?token=wrong')).status).toBe(401);
    expect((await post([eventGridEvent(6, 'Microsoft.HealthcareApis.DicomImageDeleted')])).status).toBe(200);
    expect((await post([eventGridEvent(7, undefined, 'other.dicom.azurehealthcareapis.com')])).status).toBe(200);
    const mixed = await post([eventGridEvent(8), { ...eventGridEvent(9), data: { imageStudyInstanceUid: 'x' } }]);
    expect(mixed.status).toBe(400); // dead-lettered by Event Grid; the good event is accepted first
    expect(accepted.at(-1)?.map((n) => n.sopInstanceUid)).toEqual([sop(8)]);
    expect(report.skippedReasons).toEqual(expect.arrayContaining(['event type not watched', 'unknown-store']));
    expect(report.malformedReasons).toEqual(['event data without valid UIDs']);
    const garbage = await fetch(`http://127.0.0.1:${endpoint.port}/eventgrid?token=${token}`, {
      method: 'POST',
      body: '{',
    });
    expect(garbage.status).toBe(400);
  });
});
