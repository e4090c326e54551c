import { afterEach, beforeAll, expect } from 'vitest';
import { assertReachable, stack } from '../../support/stack.js';
import { buildWorker } from '../../support/worker-build.js';
import { FaultScenario, type ScenarioTally } from './fault-scenario.js';

/**
 * What every fault file shares: the stack reachable and the worker built before the first
 * scenario; after each, its workers stopped and, when it failed, their logs printed.
 */
export function faultSuite() {
  let workerMain = '';
  let current: FaultScenario | undefined;
  beforeAll(async () => {
    await assertReachable('Orthanc', `${stack.orthancUrl}/system`, { Authorization: stack.orthancAuthorization });
    await assertReachable('HAPI FHIR', `${stack.fhirBaseUrl}/metadata`);
    workerMain = await buildWorker();
  }, 120_000);
  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') current?.printWorkerTrails();
    await current?.tearDown();
    current = undefined;
  });
  return {
    /** The worker's main.js, built by test/support/worker-build.ts. */
    get workerMain(): string {
      return workerMain;
    },
    /** A new scenario with its own topics (`studyPartitions` for StudyAvailable), set up. */
    async begin(name: string, studyPartitions = 1): Promise<FaultScenario> {
      current = new FaultScenario(name, studyPartitions);
      await current.setUp();
      return current;
    },
  };
}

/** Every study answered once and written back once, except the failures expected, by reason. */
export function expectNothingLostOrDoubled(tally: ScenarioTally, failures: Record<string, number> = {}): void {
  expect({ lost: tally.lost, duplicated: tally.duplicated, failed: tally.failed }).toEqual({
    lost: [],
    duplicated: [],
    failed: failures,
  });
  const failedCount = Object.values(failures).reduce((n, k) => n + k, 0);
  expect(tally.completed).toBe(tally.studiesIn - failedCount);
}
