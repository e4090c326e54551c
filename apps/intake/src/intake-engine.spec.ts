import type { IntakeConfig } from '@app/config';
import { NO_METRICS, StudyCompletion, type InstanceNotification, type PushedNotificationSource } from '@app/intake';
import type { IntakeStateTopic, StateWrite } from '@app/messaging';
import { JsonLogger, type HealthServer } from '@app/service';
import { describe, expect, it } from 'vitest';
import { IntakeEngine } from './intake-engine.js';

/** A pushed source's acknowledgement waits for the commit that holds its notifications' state. */
const STORE = 'cloud';
const config = {
  httpPort: 0,
  source: { store: STORE },
  pollIntervalMs: 50,
  tickMs: 20,
  dicomweb: { baseUrl: 'https://archive.example.org/dicom-web' },
} as unknown as IntakeConfig;

class FakeStateTopic {
  isConnected = true;
  failCommits = 0;
  readonly committed: StateWrite[][] = [];
  connect = () => Promise.resolve();
  disconnect = () => Promise.resolve();
  readAll = () => Promise.resolve(new Map<string, Buffer>());
  commit(_events: unknown[], writes: StateWrite[]): Promise<void> {
    if (writes.length === 0) return Promise.resolve();
    if (this.failCommits > 0) {
      this.failCommits--;
      return Promise.reject(new Error('broker unavailable'));
    }
    this.committed.push(writes);
    return Promise.resolve();
  }
}

/** Pushes what the test hands it; records when each accept settled. */
class TestPushSource implements PushedNotificationSource {
  readonly kind = 'pushed';
  readonly name = 'test-push';
  private accept?: (n: InstanceNotification[]) => Promise<void>;
  run(accept: (n: InstanceNotification[]) => Promise<void>, signal: AbortSignal): Promise<void> {
    this.accept = accept;
    return new Promise((resolve) => signal.addEventListener('abort', () => resolve()));
  }
  push(n: InstanceNotification[]): Promise<void> {
    return this.accept!(n);
  }
}

function engineWith(state: FakeStateTopic, source: TestPushSource) {
  const completion = new StudyCompletion({
    store: STORE,
    rules: {
      quietPeriodMs: 60_000,
      maxWaitMs: 120_000,
      abandonAfterMs: 3600_000,
      maxPendingStudies: 10,
      rememberPublishedMs: 3600_000,
      maxRememberedStudies: 10,
    },
    index: { seriesOfStudy: () => Promise.resolve([]) },
    model: { id: 'm', version: '1' },
    metrics: NO_METRICS,
    log: () => undefined,
  });
  const health = { listen: () => Promise.resolve(0), close: () => Promise.resolve() } as unknown as HealthServer;
  const log = new JsonLogger('fatal', {}, () => undefined);
  return new IntakeEngine(config, log, completion, source, state as unknown as IntakeStateTopic, NO_METRICS, health);
}

const notification: InstanceNotification = {
  store: STORE,
  level: 'instance',
  studyInstanceUid: '2.25.1',
  seriesInstanceUid: '2.25.2',
  sopInstanceUid: '2.25.3',
};

describe('IntakeEngine with a pushed source', () => {
  it('resolves accept only after the commit that wrote the pending study; a failed commit delays it to the next one', async () => {
    const state = new FakeStateTopic();
    state.failCommits = 2;
    const source = new TestPushSource();
    const engine = engineWith(state, source);
    await engine.onApplicationBootstrap();
    let acked = false;
    const accepted = source.push([notification]).then(() => (acked = true));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(acked).toBe(false); // the first commit failed: not durable, not acknowledged
    await accepted;
    expect(state.failCommits).toBe(0);
    expect(state.committed).toHaveLength(1);
    expect(state.committed[0].map((w) => w.key)).toEqual([`study/${STORE}/2.25.1`]);
    await engine.onApplicationShutdown();
  });

  it('at shutdown, what cannot be written is rejected (not acknowledged: the platform delivers it again)', async () => {
    const state = new FakeStateTopic();
    state.failCommits = 1_000;
    const source = new TestPushSource();
    const engine = engineWith(state, source);
    await engine.onApplicationBootstrap();
    const accepted = source.push([notification]);
    await engine.onApplicationShutdown();
    await expect(accepted).rejects.toThrow(/intake stopping/);
  });
});
