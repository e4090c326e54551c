import { describe, expect, it } from 'vitest';
import { FaultProxy } from './support/fault-proxy.js';
import { archiveAddress, dicomwebThrough, readiness, stackService } from './support/fault-scenario.js';
import { expectNothingLostOrDoubled, faultSuite } from './support/fault-suite.js';

/**
 * The servers the worker depends on fail while studies are in flight: the broker, the archive
 * (stopped, or behind a proxy that delays, resets, answers 503, refuses or trickles) and the
 * FHIR server. Every study that went in comes out once: answered, written back, never twice.
 */
const suite = faultSuite();

const inFlight = (uid: string, msg: string) => (line: Record<string, unknown>) =>
  line.studyInstanceUid === uid && line.msg === msg;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('faults in the servers the worker depends on (real stack)', () => {
  it('Kafka broker stopped mid-study and started again', async () => {
    const s = await suite.begin('Kafka broker stopped mid-study, restarted');
    const worker = s.startWorker(suite.workerMain);
    const [first] = await s.announce(3);
    await worker.waitForLog('the first study analysed', inFlight(first, 'step analyze done'), 120_000);
    await stackService('down', 'kafka');
    try {
      await sleep(3_000);
    } finally {
      await stackService('resume', 'kafka');
    }
    await s.announce(1);
    await s.waitForAnswers(240_000);
    expectNothingLostOrDoubled(await s.tally());
  }, 360_000);

  it('Orthanc stopped mid-retrieve and started again', async () => {
    const s = await suite.begin('Orthanc stopped mid-study, restarted');
    const worker = s.startWorker(suite.workerMain);
    const [first] = await s.announce(3);
    await worker.waitForLog('the first study admitted', inFlight(first, 'reserving memory'), 120_000);
    await stackService('down', 'orthanc');
    try {
      await sleep(3_000);
    } finally {
      await stackService('resume', 'orthanc');
    }
    await s.waitForAnswers(180_000);
    expectNothingLostOrDoubled(await s.tally());
  }, 300_000);

  it('the archive behind a proxy that delays, resets, answers 503, refuses and trickles', async () => {
    const s = await suite.begin('archive behind a proxy: 300 ms latency, resets, 503, refused, then a trickle');
    const proxy = new FaultProxy(archiveAddress());
    const port = await proxy.start();
    try {
      // A 20 s deadline per study: a trickling archive must not hold the partition for ever.
      const worker = s.startWorker(suite.workerMain, {
        DICOMWEB_BASE_URL: dicomwebThrough(port),
        WORKER_STUDY_DEADLINE_MS: '20000',
      });
      for (const fault of [
        { kind: 'latency', ms: 300 },
        { kind: 'reset', afterBytes: 32_768 },
        { kind: 'status', status: 503 },
        { kind: 'refuse' },
      ] as const) {
        proxy.set(fault);
        const [uid] = await s.announce(1);
        await sleep(3_000);
        proxy.set({ kind: 'none' });
        await s.waitForAnswers(60_000);
        expect(s.recorder.messages.find((m) => m.json?.studyInstanceUid === uid)?.topic).toBe(s.topics.triageCompleted);
      }
      proxy.set({ kind: 'throttle', bytesPerSecond: 200 });
      const [trickled] = await s.announce(1);
      await s.waitForAnswers(60_000);
      proxy.set({ kind: 'none' });
      await s.announce(1);
      await s.waitForAnswers(60_000);
      const tally = await s.tally();
      expectNothingLostOrDoubled(tally, { DEADLINE_EXCEEDED: 1 });
      const failed = s.recorder.messages.find((m) => m.topic === s.topics.triageFailed);
      expect(failed?.json?.studyInstanceUid).toBe(trickled);
      expect(proxy.counts.faulted).toBeGreaterThan(0);
      expect((await readiness(worker)).status).toBe(200);
    } finally {
      await proxy.stop();
    }
  }, 360_000);

  it('HAPI FHIR stopped while studies wait for their report, and started again', async () => {
    const s = await suite.begin('HAPI FHIR stopped, restarted');
    const worker = s.startWorker(suite.workerMain);
    await stackService('down', 'fhir');
    try {
      const [first] = await s.announce(2);
      // Its retries run out during the outage: the study waits (not parked), readiness says so.
      await worker.waitForLog(
        'the first study waiting for FHIR',
        (l) => l.why === 'DependencyUnavailableError' && l.studyInstanceUid === first,
        120_000,
      );
      expect((await readiness(worker)).status).toBe(503);
    } finally {
      await stackService('resume', 'fhir');
    }
    await s.waitForAnswers(240_000);
    expectNothingLostOrDoubled(await s.tally());
  }, 420_000);
});
