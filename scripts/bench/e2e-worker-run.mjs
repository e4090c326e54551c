// The throughput half of `npm run bench:e2e`: the real worker (dist/apps/worker) as a child
// process on bench-only Kafka topics and consumer group, N StudyAvailable events published at
// once, and the clock stopped at the N-th TriageCompleted/TriageFailed. Also reads the
// worker's peak RSS (VmHWM) before stopping it with SIGTERM.
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
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

const peakRssMb = (pid) => {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
  return line ? Number(line[1]) / 1024 : NaN;
};

/** Runs the studies through the worker; returns { ms, completed, failed, peakRssMb, concurrency }. */
export async function runThroughWorker(studyUids, { logFile, concurrency = 1, timeoutMs = 3_600_000 }) {
  const tag = `bench.e2e.${Date.now()}`;
  const topics = {
    KAFKA_TOPIC_STUDY_AVAILABLE: `${tag}.study-available`,
    KAFKA_TOPIC_TRIAGE_COMPLETED: `${tag}.completed`,
    KAFKA_TOPIC_TRIAGE_FAILED: `${tag}.failed`,
    KAFKA_TOPIC_DEAD_LETTER: `${tag}.dead-letter`,
  };
  const kafka = new Kafka({
    clientId: 'bench-e2e',
    brokers: process.env.KAFKA_BROKERS.split(','),
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: Object.values(topics).map((topic) => ({ topic, numPartitions: 3 })),
  });

  const port = await freePort();
  const log = createWriteStream(logFile);
  const worker = spawn('node', ['dist/apps/worker/src/main.js'], {
    env: {
      ...process.env,
      ...topics,
      KAFKA_GROUP_ID: `${tag}.worker`,
      HTTP_PORT: String(port),
      WORKER_CONCURRENCY: String(concurrency),
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker.stdout.pipe(log);
  worker.stderr.pipe(log);
  const results = kafka.consumer({ groupId: `${tag}.results` });
  try {
    await waitReady(`http://127.0.0.1:${port}/health/ready`, worker, 180_000);
    await results.connect();
    await results.subscribe({
      topics: [topics.KAFKA_TOPIC_TRIAGE_COMPLETED, topics.KAFKA_TOPIC_TRIAGE_FAILED],
      fromBeginning: true,
    });
    const pending = new Set(studyUids);
    const outcome = { completed: 0, failed: [] };
    let finish;
    const finished = new Promise((resolve) => (finish = resolve));
    await results.run({
      eachMessage: async ({ topic, message }) => {
        const event = JSON.parse(message.value.toString('utf8'));
        if (!pending.delete(event.studyInstanceUid)) return;
        if (topic === topics.KAFKA_TOPIC_TRIAGE_COMPLETED) outcome.completed++;
        else outcome.failed.push(`${event.studyInstanceUid}: ${event.reason} ${event.message ?? ''}`);
        if (pending.size === 0) finish();
      },
    });
    const producer = kafka.producer();
    await producer.connect();
    const start = performance.now();
    await producer.send({
      topic: topics.KAFKA_TOPIC_STUDY_AVAILABLE,
      messages: studyUids.map((studyInstanceUid) => {
        const { value, headers } = encodeEvent(
          StudyAvailableSchema,
          newStudyAvailable({ studyInstanceUid, source: 'bench:e2e' }),
        );
        return { key: studyInstanceUid, value, headers };
      }),
    });
    await producer.disconnect();
    const timer = setTimeout(() => finish(), timeoutMs);
    await finished;
    clearTimeout(timer);
    const ms = performance.now() - start;
    if (pending.size) throw new Error(`${pending.size} studies had no result after ${timeoutMs / 1000} s`);
    return { ms, ...outcome, peakRssMb: peakRssMb(worker.pid), concurrency };
  } finally {
    await results.disconnect().catch(() => undefined);
    if (worker.exitCode === null) {
      worker.kill('SIGTERM');
      await new Promise((resolve) => worker.once('exit', resolve));
    }
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
    await admin.disconnect();
  }
}
