import { parseConfig } from '@app/config';
import { phantomStudy } from '@app/dicom/phantom';
import type { VolumeAnalyzer } from '@app/inference';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonLogger } from '../../apps/worker/src/json-logger.js';
import { startTestWorker } from '../../apps/worker/src/testing/test-worker.js';
import { ANALYZER, APP_CONFIG } from '../../apps/worker/src/tokens.js';
import { loadAnalyzer } from '../../apps/worker/src/worker.module.js';
import { assertReachable, stack } from '../support/stack.js';
import { buildWorker } from '../support/worker-build.js';
import {
  committedOffset,
  createTopics,
  EventSender,
  reportsReferencing,
  seriesOfStudy,
  storeInstances,
  TopicRecorder,
  uniqueTopics,
  workerEnvironment,
  WorkerProcess,
  type RecordedMessage,
} from '../support/worker-harness.js';

/**
 * The worker under duress: a study that takes longer than the Kafka session timeout,
 * a worker killed (SIGKILL) or stopped (SIGTERM) in the middle of a study. In every case
 * the study ends up triaged exactly once in effect: one SEG, one SR, one report.
 */
const topics = uniqueTopics('e2e-worker-resilience');
const recorder = new TopicRecorder();
const sender = new EventSender(topics.studyAvailable);
/** The broker's minimum (group.min.session.timeout.ms): a dead worker's partition moves on quickly. */
const SESSION_TIMEOUT_MS = 6_000;
const environment = workerEnvironment(topics, {
  KAFKA_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
  KAFKA_HEARTBEAT_INTERVAL_MS: '1000',
  LOG_LEVEL: 'debug',
});
let workerMain: string;
let sent = 0;

beforeAll(async () => {
  await assertReachable('Orthanc', `${stack.orthancUrl}/system`, { Authorization: stack.orthancAuthorization });
  await assertReachable('HAPI FHIR', `${stack.fhirBaseUrl}/metadata`);
  await createTopics(topics);
  await recorder.start([topics.triageCompleted, topics.triageFailed, topics.deadLetter]);
  await sender.connect();
  workerMain = await buildWorker();
}, 120_000);

afterAll(async () => {
  await sender.disconnect();
  await recorder.stop();
});

/** Stores a fresh phantom study and announces it. */
async function announcePhantom(): Promise<{ studyInstanceUid: string; eventId: string }> {
  const study = phantomStudy();
  await storeInstances(study.series.flatMap((s) => s.instances.map((i) => i.bytes)));
  const { eventId } = await sender.study({ studyInstanceUid: study.studyInstanceUid });
  sent++;
  return { studyInstanceUid: study.studyInstanceUid, eventId };
}

const about = (studyInstanceUid: string) => (m: RecordedMessage) => m.json?.studyInstanceUid === studyInstanceUid;

/** One SEG and one SR instance in the archive, one report on HAPI, one TriageCompleted, no TriageFailed. */
async function expectTriagedOnce(studyInstanceUid: string): Promise<void> {
  const answer = await recorder.waitFor('TriageCompleted', about(studyInstanceUid), 150_000);
  expect(answer.topic).toBe(topics.triageCompleted);
  const series = await seriesOfStudy(studyInstanceUid);
  expect(series.filter((s) => s.modality === 'SEG').map((s) => s.instances)).toEqual([1]);
  expect(series.filter((s) => s.modality === 'SR').map((s) => s.instances)).toEqual([1]);
  const sr = (answer.json as { structuredReport: { sopInstanceUid: string } }).structuredReport;
  expect(await reportsReferencing(sr.sopInstanceUid)).toHaveLength(1);
  const answers = recorder.messages.filter(about(studyInstanceUid));
  expect(answers.map((m) => m.topic)).toEqual([topics.triageCompleted]);
}

/** A fresh worker takes over the uncommitted event and triages the study exactly once. */
async function finishedByNextWorker(studyInstanceUid: string): Promise<void> {
  const next = new WorkerProcess(workerMain, environment);
  try {
    await expectTriagedOnce(studyInstanceUid);
    await waitForCommit(sent);
  } catch (error) {
    // What the next worker did (our logs carry UIDs only): the first clue when this fails.
    const trail = next.lines.map((l) => [l.level, l.msg, l.skip ?? l.code ?? ''].join(' '));
    console.warn(`next worker's log:\n${trail.join('\n')}\nstderr: ${next.stderr.slice(-2000)}`);
    throw error;
  } finally {
    next.kill('SIGTERM');
    await next.exited;
  }
}

async function waitForCommit(offset: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await committedOffset(topics)) < offset) {
    if (Date.now() > deadline) throw new Error(`offset ${offset} not committed within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const analyzing = (eventId: string) => (line: Record<string, unknown>) =>
  line.eventId === eventId && line.msg === 'step fetchStudy done';

/** A worker asked to run on CUDA (which this machine's onnxruntime lacks): its readiness, model check and log line. */
async function readinessWithCuda(extra: Record<string, string>) {
  const worker = new WorkerProcess(workerMain, {
    ...environment,
    LOG_LEVEL: 'info',
    INFERENCE_EXECUTION_PROVIDERS: 'cuda,cpu',
    ...extra,
  });
  try {
    const started = await worker.waitForLog('worker started', (line) => line.msg === 'worker started', 120_000);
    const response = await fetch(`http://127.0.0.1:${Number(started['httpPort'])}/health/ready`);
    const body = (await response.json()) as { checks: { model: { ok: boolean; reason?: string } } };
    const logged = worker.lines.find((line) => line.msg === 'configured execution providers failed to load');
    return { status: response.status, model: body.checks.model, logged };
  } finally {
    worker.kill('SIGTERM');
    await worker.exited;
  }
}

describe('triage worker resilience (real stack)', () => {
  it('refuses to start with a bad setting, naming the variable', async () => {
    const worker = new WorkerProcess(workerMain, {
      ...environment,
      WORKER_CONCURRENCY: '0',
      SHUTDOWN_DEADLINE_MS: 'soon',
    });
    expect((await worker.exited).code).toBe(78);
    expect(worker.stderr).toMatch(/WORKER_CONCURRENCY/);
    expect(worker.stderr).toMatch(/SHUTDOWN_DEADLINE_MS/);
  });

  it('on a node without a working CUDA provider, configured cuda makes the worker unready unless CPU is accepted', async () => {
    const strict = await readinessWithCuda({});
    expect(strict.status).toBe(503);
    expect(strict.model.ok).toBe(false);
    expect(strict.model.reason).toMatch(
      /execution providers \[cuda, cpu\] failed to load .*running on \[cpu\].*INFERENCE_ALLOW_CPU_FALLBACK/,
    );
    expect(strict.logged).toMatchObject({ level: 'error', requested: ['cuda', 'cpu'], runningOn: ['cpu'] });
    const accepting = await readinessWithCuda({ INFERENCE_ALLOW_CPU_FALLBACK: 'true' });
    expect(accepting.model.ok).toBe(true);
    expect(accepting.logged).toMatchObject({ level: 'warn', allowCpuFallback: true });
  }, 300_000);

  it('holds a study longer than the session timeout without a rebalance', async () => {
    let analyses = 0;
    let slowest = 0;
    const slow = async (config: Parameters<typeof loadAnalyzer>[0], log: JsonLogger): Promise<VolumeAnalyzer> => {
      const real = await loadAnalyzer(config, log);
      return {
        model: real.model,
        executionProviders: real.executionProviders,
        close: () => real.close(),
        analyze: async (volume) => {
          analyses++;
          const started = Date.now();
          // Twice the session timeout: without heartbeats the broker would evict this member.
          await new Promise((resolve) => setTimeout(resolve, 2 * SESSION_TIMEOUT_MS));
          const result = await real.analyze(volume);
          slowest = Math.max(slowest, Date.now() - started);
          return result;
        },
      };
    };
    // Kept, and printed if the test fails: a second analysis is either a retry or a rebalance.
    const lines: string[] = [];
    const logger = new JsonLogger('info', {}, (line) => void lines.push(line));
    const worker = await startTestWorker(parseConfig(environment), {
      logger,
      overrides: [{ token: ANALYZER, useFactory: slow, inject: [APP_CONFIG, JsonLogger] }],
    });
    try {
      const { studyInstanceUid } = await announcePhantom();
      await expectTriagedOnce(studyInstanceUid);
      await waitForCommit(sent);
      expect(slowest).toBeGreaterThan(2 * SESSION_TIMEOUT_MS);
      expect(analyses).toBe(1);
      expect(worker.transport.consumerStatus.groupJoins).toBe(1);
    } catch (error) {
      console.warn(`the worker's log:\n${lines.map((l) => l.slice(0, 400)).join('\n')}`);
      throw error;
    } finally {
      await worker.close();
    }
  }, 200_000);

  it('finishes a study exactly once when its worker is killed (SIGKILL) mid-study and another starts', async () => {
    const first = new WorkerProcess(workerMain, environment);
    const { studyInstanceUid, eventId } = await announcePhantom();
    await first.waitForLog('the study fetched', analyzing(eventId), 90_000);
    first.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    expect(recorder.messages.filter(about(studyInstanceUid))).toHaveLength(0);
    expect(await committedOffset(topics)).toBeLessThan(sent);

    await finishedByNextWorker(studyInstanceUid);
  }, 240_000);

  it('parks a message that killed WORKER_MAX_DELIVERIES workers (WORKER_DIED) and moves on', async () => {
    const allowOne = { ...environment, WORKER_MAX_DELIVERIES: '1' };
    const first = new WorkerProcess(workerMain, allowOne);
    const { studyInstanceUid, eventId } = await announcePhantom();
    await first.waitForLog('the study fetched', analyzing(eventId), 90_000);
    first.kill('SIGKILL'); // as an out-of-memory kill would
    await first.exited;

    const next = new WorkerProcess(workerMain, allowOne);
    try {
      const failed = await recorder.waitFor('TriageFailed', about(studyInstanceUid), 150_000);
      expect(failed.topic).toBe(topics.triageFailed);
      expect(failed.json).toMatchObject({ reason: 'FAILURE_REASON_WORKER_DIED', correlationId: eventId });
      await recorder.waitFor(
        'dead-letter record',
        (m) => m.topic === topics.deadLetter && m.key === studyInstanceUid,
        30_000,
      );
      expect(next.lines.some((l) => l.eventId === eventId && l.msg === 'step fetchStudy done')).toBe(false);
      await waitForCommit(sent);
      // The partition moves on: the next study is triaged by the same worker.
      const following = await announcePhantom();
      await expectTriagedOnce(following.studyInstanceUid);
    } finally {
      next.kill('SIGTERM');
      await next.exited;
    }
  }, 300_000);

  it('on SIGTERM past its deadline, the study is finished exactly once: by the next worker, or by a write-back already begun', async () => {
    const first = new WorkerProcess(workerMain, { ...environment, SHUTDOWN_DEADLINE_MS: '500' });
    const { studyInstanceUid, eventId } = await announcePhantom();
    await first.waitForLog('the study fetched', analyzing(eventId), 90_000);
    const stopping = Date.now();
    first.kill('SIGTERM');
    await first.exited;
    expect(first.lines.some((l) => l.msg === 'shutdown deadline passed: interrupting the studies in flight')).toBe(
      true,
    );
    // Interrupted before its write-back: uncommitted, no answer. Caught in its write-back
    // (not interruptible): answered and committed. Never a report without an answer.
    const finishedByFirst = (await committedOffset(topics)) === sent;
    console.warn(
      `SIGTERM with a 500 ms deadline: exited after ${Date.now() - stopping} ms; ` +
        `the study was finished by the ${finishedByFirst ? 'first worker (write-back under way)' : 'next worker'}`,
    );
    if (finishedByFirst) {
      await expectTriagedOnce(studyInstanceUid);
      return;
    }
    await finishedByNextWorker(studyInstanceUid);
  }, 240_000);

  it('on SIGTERM within its deadline finishes the study in flight, commits, then exits', async () => {
    const worker = new WorkerProcess(workerMain, { ...environment, SHUTDOWN_DEADLINE_MS: '120000' });
    const { studyInstanceUid, eventId } = await announcePhantom();
    await worker.waitForLog('the study fetched', analyzing(eventId), 90_000);
    worker.kill('SIGTERM');
    const exit = await worker.exited;
    expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
    await expectTriagedOnce(studyInstanceUid);
    expect(await committedOffset(topics)).toBe(sent);
  }, 240_000);
});
