// The real worker (dist/apps/worker) as a child process on bench-only Kafka topics and consumer
// group, for `npm run bench:e2e` (throughput: N StudyAvailable events at once, the clock stopped
// at the N-th TriageCompleted/TriageFailed) and `npm run bench:memory` (one study at a time, the
// worker's resident memory read from /proc before and after it).
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { encodeEvent, newStudyAvailable, StudyAvailableSchema } from '../../dist/libs/messaging/src/index.js';

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

async function waitReady(url, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the worker exited with code ${child.exitCode} before it was ready`);
    const ok = await fetch(url, { signal: AbortSignal.timeout(5_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the worker was not ready within ${timeoutMs / 1000} s (${url})`);
}

/**
 * A process's resident memory from /proc/<pid>/status, in MB (2^20 bytes): `rssMb` now (VmRSS)
 * and `peakRssMb`, the high-water mark since it started (VmHWM).
 */
export function processMemory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => {
    const match = status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm'));
    return match ? Number(match[1]) / 1024 : NaN;
  };
  return { rssMb: field('VmRSS'), peakRssMb: field('VmHWM') };
}

/**
 * The worker with its own topics (`partitions` each), consumer group and health port, and a
 * consumer of its answers. `start` returns once /health/ready answers; `triage` announces
 * studies and waits for every answer; `stop` ends the worker (SIGTERM) and deletes the topics.
 */
export class BenchWorker {
  static async start({ name, logFile, env = {}, partitions = 3, readyTimeoutMs = 180_000 }) {
    const tag = `bench.${name}.${Date.now()}`;
    const topics = {
      KAFKA_TOPIC_STUDY_AVAILABLE: `${tag}.study-available`,
      KAFKA_TOPIC_TRIAGE_COMPLETED: `${tag}.completed`,
      KAFKA_TOPIC_TRIAGE_FAILED: `${tag}.failed`,
      KAFKA_TOPIC_DEAD_LETTER: `${tag}.dead-letter`,
    };
    const kafka = new Kafka({
      clientId: `bench-${name}`,
      brokers: process.env.KAFKA_BROKERS.split(','),
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: Object.values(topics).map((topic) => ({ topic, numPartitions: partitions })),
    });
    const port = await freePort();
    const log = createWriteStream(logFile);
    const child = spawn('node', ['dist/apps/worker/src/main.js'], {
      env: {
        ...process.env,
        ...topics,
        KAFKA_GROUP_ID: `${tag}.worker`,
        HTTP_PORT: String(port),
        LOG_LEVEL: 'info',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    const worker = new BenchWorker(kafka, admin, topics, tag, child);
    try {
      await waitReady(`http://127.0.0.1:${port}/health/ready`, child, readyTimeoutMs);
      await worker.listen();
    } catch (error) {
      await worker.stop();
      throw error;
    }
    return worker;
  }

  /** The answers not yet matched to a pending study, by study UID. */
  #outcomes = new Map();
  #waiting = new Set();

  constructor(kafka, admin, topics, tag, child) {
    this.kafka = kafka;
    this.admin = admin;
    this.topics = topics;
    this.tag = tag;
    this.child = child;
    this.results = kafka.consumer({ groupId: `${tag}.results` });
  }

  get pid() {
    return this.child.pid;
  }

  memory() {
    return processMemory(this.child.pid);
  }

  /** Resets the high-water mark (VmHWM) to the present RSS, so that the next peak is one study's. */
  resetPeak() {
    writeFileSync(`/proc/${this.child.pid}/clear_refs`, '5');
  }

  async listen() {
    await this.results.connect();
    await this.results.subscribe({
      topics: [this.topics.KAFKA_TOPIC_TRIAGE_COMPLETED, this.topics.KAFKA_TOPIC_TRIAGE_FAILED],
      fromBeginning: true,
    });
    await this.results.run({
      eachMessage: async ({ topic, message }) => {
        const event = JSON.parse(message.value.toString('utf8'));
        const completed = topic === this.topics.KAFKA_TOPIC_TRIAGE_COMPLETED;
        this.#outcomes.set(event.studyInstanceUid, completed ? null : `${event.reason} ${event.message ?? ''}`);
        for (const wake of this.#waiting) wake();
      },
    });
  }

  /**
   * Announces the studies at once and waits for an answer to each; returns { ms, completed,
   * failed } (failed: "<study>: <reason> <message>" lines), ms from the send to the last answer.
   */
  async triage(studyUids, { source = 'bench', timeoutMs = 3_600_000 } = {}) {
    const producer = this.kafka.producer();
    await producer.connect();
    const start = performance.now();
    await producer.send({
      topic: this.topics.KAFKA_TOPIC_STUDY_AVAILABLE,
      messages: studyUids.map((studyInstanceUid) => {
        const { value, headers } = encodeEvent(StudyAvailableSchema, newStudyAvailable({ studyInstanceUid, source }));
        return { key: studyInstanceUid, value, headers };
      }),
    });
    await producer.disconnect();
    const pending = () => studyUids.filter((uid) => !this.#outcomes.has(uid));
    const deadline = Date.now() + timeoutMs;
    while (pending().length > 0 && Date.now() < deadline && this.child.exitCode === null) {
      await new Promise((resolve) => {
        const wake = () => {
          this.#waiting.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, 1_000);
        this.#waiting.add(wake);
      });
    }
    const ms = performance.now() - start;
    const left = pending();
    if (left.length) {
      const why =
        this.child.exitCode === null
          ? `after ${timeoutMs / 1000} s`
          : `(the worker exited, code ${this.child.exitCode})`;
      throw new Error(`${left.length} studies had no result ${why}`);
    }
    const outcomes = studyUids.map((uid) => [uid, this.#outcomes.get(uid)]);
    return {
      ms,
      completed: outcomes.filter(([, failure]) => failure === null).length,
      failed: outcomes.filter(([, failure]) => failure !== null).map(([uid, failure]) => `${uid}: ${failure}`),
    };
  }

  async stop() {
    await this.results.disconnect().catch(() => undefined);
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      await exited;
    }
    await this.admin.deleteTopics({ topics: Object.values(this.topics) }).catch(() => undefined);
    await this.admin.disconnect();
  }
}

/** Runs the studies through the worker; returns { ms, completed, failed, peakRssMb, concurrency }. */
export async function runThroughWorker(studyUids, { logFile, concurrency = 1, timeoutMs = 3_600_000 }) {
  const worker = await BenchWorker.start({
    name: 'e2e',
    logFile,
    env: { WORKER_CONCURRENCY: String(concurrency) },
  });
  try {
    const outcome = await worker.triage(studyUids, { source: 'bench:e2e', timeoutMs });
    return { ...outcome, peakRssMb: worker.memory().peakRssMb, concurrency };
  } finally {
    await worker.stop();
  }
}
