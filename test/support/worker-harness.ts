import { spawn, type ChildProcess } from 'node:child_process';
import { JsonAttributes } from '@app/dicom';
import { basicAuth } from '@app/credentials';
import { createDicomwebClient } from '@app/dicomweb';
import { encodeEvent, newStudyAvailable, StudyAvailableSchema, type StudyAvailableInit } from '@app/messaging';
import { Kafka, logLevel, Partitioners, type Consumer, type Producer } from 'kafkajs';
import { expect } from 'vitest';
import { stack } from './stack.js';

/**
 * What the worker end-to-end tests share: unique topics per test file, a recorder of the
 * worker's answers, the archive and FHIR queries the assertions need, and the worker as
 * a child process that can be killed.
 */

export interface WorkerTopics {
  studyAvailable: string;
  triageCompleted: string;
  triageFailed: string;
  deadLetter: string;
  groupId: string;
}

export function uniqueTopics(prefix: string): WorkerTopics {
  const run = `${prefix}.${Date.now()}.${Math.floor(Math.random() * 1e6)}`;
  return {
    studyAvailable: `${run}.study-available`,
    triageCompleted: `${run}.completed`,
    triageFailed: `${run}.failed`,
    deadLetter: `${run}.dead-letter`,
    groupId: `${run}.worker`,
  };
}

export const kafka = new Kafka({ clientId: 'e2e-test', brokers: stack.kafkaBrokers, logLevel: logLevel.NOTHING });

/**
 * One partition each by default: the events of a test file are handled in the order they are
 * sent. `studyPartitions` spreads StudyAvailable for tests with several workers.
 */
export async function createTopics(topics: WorkerTopics, studyPartitions = 1): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: topics.studyAvailable, numPartitions: studyPartitions },
        ...[topics.triageCompleted, topics.triageFailed, topics.deadLetter].map((topic) => ({
          topic,
          numPartitions: 1,
        })),
      ],
    });
  } finally {
    await admin.disconnect();
  }
}

/** The committed offset of the group on the (one-partition) StudyAvailable topic; -1 when none. */
export async function committedOffset(topics: WorkerTopics): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId: topics.groupId, topics: [topics.studyAvailable] });
    return Number(entry.partitions[0]?.offset ?? -1);
  } finally {
    await admin.disconnect();
  }
}

/** The environment the worker reads (as a child process, or through parseConfig in-process). */
export function workerEnvironment(topics: WorkerTopics, extra: Record<string, string> = {}): Record<string, string> {
  return {
    KAFKA_BROKERS: stack.kafkaBrokers.join(','),
    KAFKA_GROUP_ID: topics.groupId,
    KAFKA_CLIENT_ID: `e2e-${topics.groupId}`,
    KAFKA_TOPIC_STUDY_AVAILABLE: topics.studyAvailable,
    KAFKA_TOPIC_TRIAGE_COMPLETED: topics.triageCompleted,
    KAFKA_TOPIC_TRIAGE_FAILED: topics.triageFailed,
    KAFKA_TOPIC_DEAD_LETTER: topics.deadLetter,
    DICOMWEB_BASE_URL: stack.dicomwebUrl,
    // The local Orthanc speaks plain http: a test bench.
    ALLOW_INSECURE_HTTP: 'true',
    DICOMWEB_AUTH: 'basic',
    DICOMWEB_USERNAME: stack.orthancUsername,
    DICOMWEB_PASSWORD: stack.orthancPassword,
    FHIR_BASE_URL: stack.fhirBaseUrl,
    HTTP_PORT: '0',
    WORKER_RETRY_ATTEMPTS: '2',
    WORKER_RETRY_INITIAL_DELAY_MS: '200',
    WORKER_RETRY_MAX_DELAY_MS: '1000',
    ...extra,
  };
}

export interface RecordedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  json?: Record<string, unknown>;
}

/**
 * Reads the worker's answer topics from the beginning and keeps every message once (a
 * recorder that reconnects after a broker restart may be handed a message again).
 */
export class TopicRecorder {
  readonly messages: RecordedMessage[] = [];
  private readonly seen = new Set<string>();
  private consumer?: Consumer;

  async start(topics: string[]): Promise<void> {
    this.consumer = kafka.consumer({
      groupId: `e2e-recorder-${Date.now()}-${Math.random()}`,
      // Reading must never create a topic (the fault tests delete one on purpose).
      allowAutoTopicCreation: false,
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics, fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const position = `${topic}/${partition}/${message.offset}`;
        if (this.seen.has(position)) return;
        this.seen.add(position);
        const headers = Object.fromEntries(
          Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]),
        );
        let json: Record<string, unknown> | undefined;
        try {
          json = JSON.parse(message.value?.toString() ?? '') as Record<string, unknown>;
        } catch {
          json = undefined;
        }
        this.messages.push({
          topic,
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? null,
          value: message.value,
          headers,
          ...(json ? { json } : {}),
        });
      },
    });
  }

  on(topic: string): RecordedMessage[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  async waitFor(
    what: string,
    predicate: (m: RecordedMessage) => boolean,
    timeoutMs = 60_000,
  ): Promise<RecordedMessage> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = this.messages.find(predicate);
      if (found) return found;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

export class EventSender {
  private readonly producer: Producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });

  constructor(private readonly topic: string) {}

  async connect(): Promise<void> {
    await this.producer.connect();
  }

  async study(init: StudyAvailableInit): Promise<{ eventId: string; bytes: Buffer }> {
    const event = newStudyAvailable({ source: 'e2e-test', ...init });
    const { value, headers } = encodeEvent(StudyAvailableSchema, event);
    await this.producer.send({ topic: this.topic, messages: [{ key: event.studyInstanceUid, value, headers }] });
    return { eventId: event.eventId, bytes: value };
  }

  /** Any bytes, e.g. a malformed event; `headers` as a producer of another schema version would set them. */
  async raw(value: Buffer, key: string | null = null, headers: Record<string, string> = {}): Promise<void> {
    await this.producer.send({ topic: this.topic, messages: [{ key, value, headers }] });
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
  }
}

export const archive = createDicomwebClient({
  baseUrl: stack.dicomwebUrl,
  auth: basicAuth(stack.orthancUsername, stack.orthancPassword),
  timeoutMs: 60_000,
});

/** Stores instances in batches (one STOW each) and fails the test on any refusal. */
export async function storeInstances(files: readonly Uint8Array[], batch = 40): Promise<void> {
  for (let start = 0; start < files.length; start += batch) {
    const result = await archive.store(files.slice(start, start + batch));
    if (!result.ok) throw new Error(`STOW failed: ${JSON.stringify(result.failed.slice(0, 3))}`);
  }
}

/** The study's series with modality and instance count, from QIDO. */
export async function seriesOfStudy(
  studyInstanceUid: string,
): Promise<{ seriesInstanceUid: string; modality: string; instances: number }[]> {
  const found = await archive.searchSeries(studyInstanceUid, { includefield: ['NumberOfSeriesRelatedInstances'] });
  return found.map((dataset) => {
    const attributes = new JsonAttributes(dataset);
    return {
      seriesInstanceUid: attributes.string('SeriesInstanceUID') ?? '',
      modality: attributes.string('Modality') ?? '',
      // NumberOfSeriesRelatedInstances (0020,1209), not in the project's small dictionary.
      instances: Number(dataset['00201209']?.Value?.[0] ?? 0),
    };
  });
}

export async function fhirGet<T>(path: string): Promise<T> {
  const response = await fetch(`${stack.fhirBaseUrl}/${path}`, { headers: { accept: 'application/fhir+json' } });
  if (!response.ok) throw new Error(`FHIR GET ${path}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

/** The DiagnosticReports of a study on the FHIR server, found by the report's secondary SR identifier. */
export async function reportsReferencing(srSopInstanceUid: string): Promise<fhir4.DiagnosticReport[]> {
  const bundle = await fhirGet<fhir4.Bundle>(
    `DiagnosticReport?identifier=${encodeURIComponent(`urn:dicom:uid|urn:oid:${srSopInstanceUid}`)}`,
  );
  return (bundle.entry ?? []).map((entry) => entry.resource as fhir4.DiagnosticReport);
}

/** The worker as a child process, running the build from test/support/worker-build.ts. */
export class WorkerProcess {
  readonly lines: Record<string, unknown>[] = [];
  /** What the worker wrote to stderr (a configuration error, Node warnings). */
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;

  constructor(main: string, env: Record<string, string>) {
    this.child = spawn(process.execPath, [main], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffered = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      for (const line of parts) {
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.lines.push({ msg: line });
        }
      }
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  async waitForLog(what: string, predicate: (line: Record<string, unknown>) => boolean, timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = this.lines.find(predicate);
      if (found) return found;
      if (this.child.exitCode !== null) {
        const tail = this.lines.slice(-5).map((l) => JSON.stringify(l).slice(0, 400));
        throw new Error(
          `worker exited (${this.child.exitCode}) before: ${what}; last lines:\n${tail.join('\n')}\n${this.stderr}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for the worker to log: ${what}`);
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

/**
 * Stores files through Orthanc's own REST API: for files our STOW client cannot match to the
 * answer, because it reads each file first (a deflate bomb or too deep nesting stops that).
 */
export async function storeInOrthanc(files: readonly Uint8Array[]): Promise<void> {
  for (const file of files) {
    const response = await fetch(`${stack.orthancUrl}/instances`, {
      method: 'POST',
      headers: { Authorization: stack.orthancAuthorization, 'Content-Type': 'application/dicom' },
      body: file,
    });
    if (!response.ok) throw new Error(`Orthanc POST /instances: HTTP ${response.status}`);
  }
}

/** Deletes series from Orthanc by SeriesInstanceUID (its REST API), so a test can start clean. */
export async function deleteSeriesFromOrthanc(seriesInstanceUids: readonly string[]): Promise<void> {
  const headers = { Authorization: stack.orthancAuthorization };
  for (const uid of seriesInstanceUids) {
    const lookup = await fetch(`${stack.orthancUrl}/tools/lookup`, { method: 'POST', headers, body: uid });
    const found = (await lookup.json()) as { ID: string; Type: string }[];
    for (const item of found.filter((f) => f.Type === 'Series')) {
      const response = await fetch(`${stack.orthancUrl}/series/${item.ID}`, { method: 'DELETE', headers });
      if (!response.ok) throw new Error(`Orthanc DELETE series: HTTP ${response.status}`);
    }
  }
}

/** The worker's health endpoints on `httpPort`: ready with every check green, and live. */
export async function expectHealthy(httpPort: number): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/health/ready`);
  const body = (await response.json()) as { checks: Record<string, { ok: boolean }> };
  expect(body.checks).toMatchObject({
    kafka: { ok: true },
    model: { ok: true },
    archive: { ok: true },
    fhir: { ok: true },
  });
  expect(response.status).toBe(200);
  expect((await fetch(`http://127.0.0.1:${httpPort}/health/live`)).status).toBe(200);
}
