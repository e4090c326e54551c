import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { phantomStudy } from '@app/dicom/phantom';
import { encodeEvent, newStudyAvailable, StudyAvailableSchema } from '@app/messaging';
import { STEP_NAMES } from '@app/pipeline';
import { INFERENCE_METRICS, STUDY_SPAN, TRIAGE_ATTRIBUTES as A, TRIAGE_METRICS as M } from '@app/telemetry';
import { Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertReachable, stack } from '../support/stack.js';
import { buildWorker } from '../support/worker-build.js';
import {
  createTopics,
  kafka,
  storeInstances,
  TopicRecorder,
  uniqueTopics,
  workerEnvironment,
  WorkerProcess,
  type RecordedMessage,
} from '../support/worker-harness.js';

/**
 * The built worker started with its OpenTelemetry bootstrap (`--import …/otel.js`, here
 * through NODE_OPTIONS) against the real stack, exporting OTLP/JSON to a receiver in this
 * test: the trace of a StudyAvailable that carries a W3C traceparent continues through
 * Kafka, the study span, its six steps and their HTTP calls, and into TriageCompleted's
 * headers; the metrics arrive; SIGTERM flushes and exits. A collector that is down
 * (a closed port) neither crashes nor holds up the worker.
 */
const topics = uniqueTopics('e2e-worker-telemetry');
const recorder = new TopicRecorder();
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
let workerMain: string;
let bootstrap: string;

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: OtlpAttribute[];
  status?: { code?: number };
}
interface OtlpMetric {
  name: string;
  sum?: { dataPoints: { attributes?: OtlpAttribute[]; asInt?: string | number; asDouble?: number }[] };
  histogram?: { dataPoints: { attributes?: OtlpAttribute[]; count: string | number }[] };
}

/** An OTLP/HTTP JSON receiver: keeps every request body by path; over HTTPS when given a certificate. */
class OtlpReceiver {
  readonly bodies = new Map<string, string[]>();
  private readonly server: Server;
  private readonly scheme: 'http' | 'https';

  constructor(tls?: { cert: Buffer; key: Buffer }) {
    this.scheme = tls ? 'https' : 'http';
    const receive = (request: IncomingMessage, response: ServerResponse) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        this.bodies.set(request.url ?? '', [...(this.bodies.get(request.url ?? '') ?? []), body]);
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    };
    this.server = tls ? createHttpsServer(tls, receive) : createServer(receive);
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `${this.scheme}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  spans(): OtlpSpan[] {
    return (this.bodies.get('/v1/traces') ?? []).flatMap((body) =>
      (JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] }).resourceSpans.flatMap((r) =>
        r.scopeSpans.flatMap((s) => s.spans),
      ),
    );
  }

  metrics(): OtlpMetric[] {
    return (this.bodies.get('/v1/metrics') ?? []).flatMap((body) =>
      (
        JSON.parse(body) as { resourceMetrics: { scopeMetrics: { metrics: OtlpMetric[] }[] }[] }
      ).resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics)),
    );
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const attribute = (span: { attributes?: OtlpAttribute[] }, key: string) => {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  return value?.stringValue ?? value?.intValue ?? value?.boolValue ?? value?.doubleValue;
};

/** Stores a fresh phantom study and announces it with the given traceparent header. */
async function announcePhantom(traceparent: string): Promise<{ studyInstanceUid: string; eventId: string }> {
  const study = phantomStudy();
  await storeInstances(study.series.flatMap((s) => s.instances.map((i) => i.bytes)));
  const event = newStudyAvailable({ source: 'e2e-test', studyInstanceUid: study.studyInstanceUid });
  const { value, headers } = encodeEvent(StudyAvailableSchema, event);
  await producer.send({
    topic: topics.studyAvailable,
    messages: [{ key: event.studyInstanceUid, value, headers: { ...headers, traceparent } }],
  });
  return { studyInstanceUid: study.studyInstanceUid, eventId: event.eventId };
}

const about = (studyInstanceUid: string) => (m: RecordedMessage) => m.json?.studyInstanceUid === studyInstanceUid;

/** A throwaway CA and a certificate for 127.0.0.1 it signed, as a hospital's collector would have. */
function throwawayPki(dir: string): { caFile: string; cert: Buffer; key: Buffer } {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=test CA');
  openssl('req', '-new', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  const sign = ['-CA', 'ca.pem', '-CAkey', 'ca.key', '-extfile', 'san.ext', '-out', 'leaf.pem', '-days', '1'];
  openssl('x509', '-req', '-in', 'leaf.csr', ...sign);
  return {
    caFile: join(dir, 'ca.pem'),
    cert: readFileSync(join(dir, 'leaf.pem')),
    key: readFileSync(join(dir, 'leaf.key')),
  };
}

/** SIGTERM, then the exit: by the re-raised signal (Nest's shutdown hooks) or with code 0. */
async function stopWithin(worker: WorkerProcess, ms: number): Promise<number> {
  const started = Date.now();
  worker.kill('SIGTERM');
  const timeout = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), ms).unref());
  const exit = await Promise.race([worker.exited, timeout]);
  if (exit === 'hung') {
    worker.kill('SIGKILL');
    throw new Error(`worker still running ${ms} ms after SIGTERM`);
  }
  expect(exit.signal === 'SIGTERM' || exit.code === 0).toBe(true);
  return Date.now() - started;
}

beforeAll(async () => {
  await assertReachable('Orthanc', `${stack.orthancUrl}/system`, { Authorization: stack.orthancAuthorization });
  await assertReachable('HAPI FHIR', `${stack.fhirBaseUrl}/metadata`);
  await createTopics(topics);
  await recorder.start([topics.triageCompleted, topics.triageFailed]);
  await producer.connect();
  workerMain = await buildWorker();
  bootstrap = workerMain.replace(/main\.js$/, 'otel.js');
}, 120_000);

afterAll(async () => {
  await producer.disconnect();
  await recorder.stop();
});

describe('worker telemetry (real stack, OTLP/JSON receiver)', () => {
  it('continues the producer’s trace through the study span, its six steps and their HTTP calls, and exports metrics', async () => {
    const receiver = new OtlpReceiver();
    const endpoint = await receiver.listen();
    const worker = new WorkerProcess(
      workerMain,
      workerEnvironment(topics, {
        NODE_OPTIONS: `--import=${bootstrap}`,
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '200',
        OTEL_METRIC_EXPORT_INTERVAL: '1000',
      }),
    );
    try {
      await worker.waitForLog('telemetry on', (line) => line.msg === 'telemetry on');
      await worker.waitForLog('worker started', (line) => line.msg === 'worker started', 90_000);
      const traceId = randomBytes(16).toString('hex');
      const producerSpanId = randomBytes(8).toString('hex');
      const { studyInstanceUid } = await announcePhantom(`00-${traceId}-${producerSpanId}-01`);
      const answer = await recorder.waitFor('TriageCompleted', about(studyInstanceUid), 150_000);
      expect(answer.topic).toBe(topics.triageCompleted);
      // The answer carries the same trace onwards.
      expect(answer.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
      await stopWithin(worker, 30_000);

      const spans = receiver.spans().filter((s) => s.traceId === traceId);
      const study = spans.find((s) => s.name === STUDY_SPAN)!;
      expect(study).toBeDefined();
      expect(attribute(study, A.studyUid)).toBe(studyInstanceUid);
      expect(attribute(study, A.outcome)).toBe('completed');
      expect(attribute(study, A.modelId)).toBeTruthy();
      // Parent chain: producer (ours, not exported) → kafkajs process span → triage.study → steps.
      const process = spans.find((s) => s.spanId === study.parentSpanId)!;
      expect(process.kind).toBe(5); // CONSUMER
      expect(process.parentSpanId).toBe(producerSpanId);
      const steps = spans.filter((s) => s.parentSpanId === study.spanId);
      expect(steps.map((s) => s.name)).toEqual(expect.arrayContaining([...STEP_NAMES]));
      const httpUnder = (name: string) => {
        const step = steps.find((s) => s.name === name)!;
        return spans.filter((s) => s.parentSpanId === step.spanId && s.kind === 3); // CLIENT
      };
      expect(httpUnder('fetchStudy').length).toBeGreaterThan(0);
      expect(httpUnder('storeObjects').length).toBeGreaterThan(0);
      expect(httpUnder('writeReport').length).toBeGreaterThan(0);
      // The readiness probe's pings are outside any trace: no root HTTP spans.
      expect(receiver.spans().filter((s) => s.kind === 3 && !s.parentSpanId)).toEqual([]);
      // Nothing of the phantom's patient in what was exported, and no query value.
      const exported = (receiver.bodies.get('/v1/traces') ?? []).join('\n');
      expect(exported).not.toContain('PHANTOM-0001');
      expect(exported).not.toContain('PHANTOM^SYNTHETIC');
      for (const span of spans.filter((s) => attribute(s, 'url.query'))) {
        expect(String(attribute(span, 'url.query'))).toMatch(/^\?([^=&]+=…&?)+$/);
      }

      const metrics = receiver.metrics();
      const processed = metrics.filter((m) => m.name === M.processed).flatMap((m) => m.sum!.dataPoints);
      expect(processed.some((p) => attribute(p, A.outcome) === 'completed' && Number(p.asInt ?? p.asDouble) >= 1)).toBe(
        true,
      );
      const stepPoints = metrics.filter((m) => m.name === M.stepDuration).flatMap((m) => m.histogram!.dataPoints);
      expect(new Set(stepPoints.map((p) => attribute(p, A.step)))).toEqual(new Set(STEP_NAMES));
      expect(metrics.some((m) => m.name === M.inFlight)).toBe(true);
    } finally {
      worker.kill('SIGKILL');
      await receiver.close();
    }
  }, 240_000);

  it('keeps working and stops promptly when the collector is down (a closed port)', async () => {
    const probe = new OtlpReceiver();
    const closed = await probe.listen();
    await probe.close();
    const worker = new WorkerProcess(
      workerMain,
      workerEnvironment(topics, {
        NODE_OPTIONS: `--import=${bootstrap}`,
        OTEL_EXPORTER_OTLP_ENDPOINT: closed,
        OTEL_BSP_SCHEDULE_DELAY: '200',
        OTEL_METRIC_EXPORT_INTERVAL: '1000',
      }),
    );
    try {
      await worker.waitForLog('worker started', (line) => line.msg === 'worker started', 90_000);
      const { studyInstanceUid } = await announcePhantom(`00-${randomBytes(16).toString('hex')}-${'1'.repeat(16)}-01`);
      await recorder.waitFor('TriageCompleted', about(studyInstanceUid), 150_000);
      // Exports have failed for a while by now; shutdown still flushes and leaves quickly.
      expect(await stopWithin(worker, 20_000)).toBeLessThan(20_000);
      expect(worker.lines.some((line) => line.msg === 'worker stopped')).toBe(true);
      expect(worker.stderr).not.toMatch(/Unhandled|uncaught/i);
    } finally {
      worker.kill('SIGKILL');
    }
  }, 240_000);

  it('exports over HTTPS to a collector whose certificate only HTTPS_CA_FILE makes trusted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'otlp-tls-'));
    const pki = throwawayPki(dir);
    const receiver = new OtlpReceiver({ cert: pki.cert, key: pki.key });
    const endpoint = await receiver.listen();
    const start = (extra: Record<string, string>) =>
      new WorkerProcess(
        workerMain,
        workerEnvironment(topics, {
          NODE_OPTIONS: `--import=${bootstrap}`,
          OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
          OTEL_METRIC_EXPORT_INTERVAL: '1000',
          ...extra,
        }),
      );
    const exported = () => receiver.metrics().some((m) => m.name === INFERENCE_METRICS.cpuFallback);
    try {
      // Without the CA the collector's certificate is refused: nothing arrives.
      const untrusting = start({});
      await untrusting.waitForLog('worker started', (line) => line.msg === 'worker started', 90_000);
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      await stopWithin(untrusting, 20_000);
      expect(receiver.metrics()).toEqual([]);

      const trusting = start({ HTTPS_CA_FILE: pki.caFile });
      await trusting.waitForLog('worker started', (line) => line.msg === 'worker started', 90_000);
      const deadline = Date.now() + 20_000;
      while (!exported() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
      await stopWithin(trusting, 20_000);
      expect(exported()).toBe(true);
    } finally {
      await receiver.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
