import { describe, expect, it } from 'vitest';
import { kafka } from '../support/worker-harness.js';
import { readiness } from './support/fault-scenario.js';
import { expectNothingLostOrDoubled, faultSuite } from './support/fault-suite.js';

/**
 * The worker dies (SIGKILL, as the OOM killer does) in the middle of a study and in the middle
 * of its write-back, and the topic its answers go to disappears. The next worker, or the same
 * one once the topic is back, finishes every study exactly once in effect.
 */
const suite = faultSuite();

describe('a worker that dies, and answers that cannot be published (real stack)', () => {
  it.each([
    ['mid-study (its volume decoded)', 'step fetchStudy done'],
    ['mid-write-back (SEG and SR stored, report not yet written)', 'step storeObjects done'],
  ])('SIGKILL %s: the next worker finishes it once', async (when, step) => {
    const s = await suite.begin(`worker SIGKILLed ${when}`);
    const doomed = s.startWorker(suite.workerMain);
    const [first] = await s.announce(3);
    await doomed.waitForLog(step, (l) => l.studyInstanceUid === first && l.msg === step, 120_000);
    doomed.kill('SIGKILL');
    expect((await doomed.exited).signal).toBe('SIGKILL');
    s.startWorker(suite.workerMain);
    await s.waitForAnswers(180_000);
    expectNothingLostOrDoubled(await s.tally());
  });

  it('the result topic deleted: answers wait (readiness fails) until it is back, nothing parked', async () => {
    const s = await suite.begin('result topic deleted, then recreated');
    const admin = kafka.admin();
    await admin.connect();
    try {
      // The recorder reads only topics that exist: a consumer of a missing topic would create it.
      await s.recorder.stop();
      await admin.deleteTopics({ topics: [s.topics.triageCompleted] });
      await s.recorder.start([s.topics.triageFailed, s.topics.deadLetter]);
      const worker = s.startWorker(suite.workerMain);
      const [first] = await s.announce(2);
      await worker.waitForLog(
        'the answer refused',
        (l) =>
          l.studyInstanceUid === first &&
          l.msg === 'not finished, not failed: fetching the message again after a pause' &&
          l.why === 'AnswerNotPublishedError',
        120_000,
      );
      const ready = await readiness(worker);
      expect(ready.status).toBe(503);
      expect(ready.body).toMatch(/retry/i);
      // Nothing was parked meanwhile: the written-back study is not a failure.
      expect(s.recorder.messages).toEqual([]);
      await s.recorder.stop();
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic: s.topics.triageCompleted, numPartitions: 1 }],
      });
      await s.recorder.start([s.topics.triageCompleted, s.topics.triageFailed, s.topics.deadLetter]);
      await s.waitForAnswers(180_000);
      expectNothingLostOrDoubled(await s.tally());
      expect((await readiness(worker)).status).toBe(200);
    } finally {
      await admin.disconnect();
    }
  });
});
