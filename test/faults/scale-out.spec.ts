import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readPart10 } from '@app/dicom';
import { describe, expect, it } from 'vitest';
import { hasRealCt, REAL_CT_DIR } from '../support/real-data.js';
import { stack } from '../support/stack.js';
import { storeInstances } from '../support/worker-harness.js';
import { FaultProxy } from './support/fault-proxy.js';
import { archiveAddress, dicomwebThrough } from './support/fault-scenario.js';
import { expectNothingLostOrDoubled, faultSuite } from './support/fault-suite.js';

/**
 * The consumer group under load and under rebalances: two workers on a three-partition topic
 * with a hundred studies queued, a third worker joining mid-run; and a member joining while a
 * study is in flight (the fence: the member that lost its partition writes nothing back).
 */
const suite = faultSuite();

/**
 * Copies of the real P001 CT series, each in a study of its own made by Orthanc (new study,
 * series and instance UIDs). Only the CT is kept: earlier tests may have left our SEG and SR in
 * P001's study, and a copy of those would count as a second SEG and SR.
 */
async function realCtCopies(count: number): Promise<string[]> {
  const folder = join(REAL_CT_DIR, 'P001');
  const names = (await readdir(folder)).filter((name) => name.endsWith('.dcm'));
  const files = await Promise.all(names.map((name) => readFile(join(folder, name))));
  await storeInstances(files);
  const original = readPart10(files[0], { untilPixelData: true }).dataset.string('StudyInstanceUID')!;
  const [study] = (await orthanc<{ ID: string; Type: string }[]>('tools/lookup', original)).filter(
    (found) => found.Type === 'Study',
  );
  const copies: string[] = [];
  for (let n = 0; n < count; n++) {
    const { ID } = await orthanc<{ ID: string }>(`studies/${study.ID}/modify`, JSON.stringify({ Force: true }));
    const copy = await orthanc<{ Series: string[]; MainDicomTags: { StudyInstanceUID: string } }>(`studies/${ID}`);
    for (const series of copy.Series) {
      const { MainDicomTags } = await orthanc<{ MainDicomTags: { Modality?: string } }>(`series/${series}`);
      if (MainDicomTags.Modality !== 'CT') await orthanc(`series/${series}`, undefined, 'DELETE');
    }
    copies.push(copy.MainDicomTags.StudyInstanceUID);
  }
  return copies;
}

/** Orthanc's REST API: GET, or POST with a body, or the method given. */
async function orthanc<T>(path: string, body?: string, method = body === undefined ? 'GET' : 'POST'): Promise<T> {
  const response = await fetch(`${stack.orthancUrl}/${path}`, {
    method,
    headers: { Authorization: stack.orthancAuthorization },
    ...(body === undefined ? {} : { body }),
  });
  if (!response.ok) throw new Error(`Orthanc ${method} ${path}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

describe('the consumer group under load and rebalances (real stack)', () => {
  it('2 workers x 3 partitions x 100 queued studies (concurrency 2), a third worker joining mid-run', async () => {
    const s = await suite.begin(
      `100 studies (${hasRealCt ? '2 of them real CT' : 'phantoms only: no real CT here'}), 3 partitions, 2 workers, a 3rd joining`,
      3,
    );
    const real = hasRealCt ? await realCtCopies(2) : [];
    for (const uid of real) await s.announceStored(uid);
    const phantoms = 100 - real.length;
    for (let done = 0; done < phantoms; done += 20) await s.announce(Math.min(20, phantoms - done));
    expect(s.studies).toHaveLength(100);
    const settings = { WORKER_CONCURRENCY: '2' };
    s.startWorker(suite.workerMain, settings);
    s.startWorker(suite.workerMain, settings);
    while (s.recorder.messages.length < 30) await new Promise((resolve) => setTimeout(resolve, 250));
    const third = s.startWorker(suite.workerMain, settings);
    await third.waitForLog('the third worker in the group', (l) => l.msg === 'joined the consumer group', 120_000);
    await s.waitForAnswers(900_000);
    const tally = await s.tally();
    expectNothingLostOrDoubled(tally);
    expect(tally.completed).toBe(100);
  }, 1_200_000);

  it('a member joins while a study is in flight: the study is written back and answered once', async () => {
    const s = await suite.begin('a member joins mid-study (rebalance)');
    // The first worker reads the archive slowly, so that the second joins while it is busy.
    const proxy = new FaultProxy(archiveAddress());
    const port = await proxy.start();
    try {
      proxy.set({ kind: 'throttle', bytesPerSecond: 40_000 });
      const first = s.startWorker(suite.workerMain, { DICOMWEB_BASE_URL: dicomwebThrough(port) });
      const [uid] = await s.announce(1);
      await first.waitForLog('the study admitted', (l) => l.studyInstanceUid === uid && l.msg === 'reserving memory');
      s.startWorker(suite.workerMain);
      await s.waitForAnswers(180_000);
      await first.waitForLog(
        'the first worker fenced off',
        (l) => l.msg === 'the group rebalanced during the study; nothing written back, left to the new owner',
        60_000,
      );
      const tally = await s.tally();
      expect({ completed: tally.completed, lost: tally.lost, duplicated: tally.duplicated }).toEqual({
        completed: 1,
        lost: [],
        duplicated: [],
      });
      // Without the fence the first worker would write back and answer too: two TriageCompleted.
      expect(s.recorder.messages.filter((m) => m.topic === s.topics.triageCompleted)).toHaveLength(1);
    } finally {
      await proxy.stop();
    }
  }, 300_000);
});
