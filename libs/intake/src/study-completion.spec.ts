import { segUids } from '@app/seg';
import { describe, expect, it } from 'vitest';
import type { ArchivedSeries, IntakeMetrics } from './ports.js';
import { StudyCompletion, type CompletionRules } from './study-completion.js';

const STORE = 'orthanc';
const STUDY = '1.2.826.0.1.3680043.8.498.100';
const S1 = '1.2.826.0.1.3680043.8.498.101';
const S2 = '1.2.826.0.1.3680043.8.498.102';
const MODEL = { id: 'covid-triage-multitask-demo', version: '0.1.0' };
const RULES: CompletionRules = {
  quietPeriodMs: 10_000,
  maxWaitMs: 60_000,
  abandonAfterMs: 600_000,
  maxPendingStudies: 3,
  rememberPublishedMs: 3_600_000,
  maxRememberedStudies: 100,
};

/** The rules with a fake clock, a fake archive (series → instances) and counting metrics. */
function harness(rules: Partial<CompletionRules> = {}) {
  let now = 1_000_000;
  const archive = new Map<string, ArchivedSeries[]>();
  let archiveDown = false;
  const counts: Record<string, number> = {};
  const count = (name: string) => (counts[name] = (counts[name] ?? 0) + 1);
  const metrics: IntakeMetrics = {
    notification: (_s, outcome) => count(`notification:${outcome}`),
    recheck: (_s, outcome) => count(`recheck:${outcome}`),
    published: (_s, reason) => count(`published:${reason}`),
    forgotten: (_s, reason) => count(`forgotten:${reason}`),
    sourceError: () => count('sourceError'),
    observePending: () => undefined,
  };
  const logs: string[] = [];
  const completion = new StudyCompletion({
    store: STORE,
    rules: { ...RULES, ...rules },
    model: MODEL,
    metrics,
    log: (_level, msg) => logs.push(msg),
    now: () => now,
    index: {
      seriesOfStudy: async (study) => {
        if (archiveDown) throw new Error('ECONNREFUSED');
        return archive.get(study) ?? [];
      },
    },
  });
  const store = (study: string, series: string, modality = 'CT') => {
    const list = archive.get(study) ?? [];
    const found = list.find((s) => s.seriesInstanceUid === series);
    if (found) found.instances++;
    else list.push({ seriesInstanceUid: series, modality, instances: 1 });
    archive.set(study, list);
    completion.accept({ store: STORE, level: 'instance', studyInstanceUid: study, seriesInstanceUid: series });
  };
  /** Advance the clock, evaluate, and confirm what was announced (as the engine does after its commit). */
  const advance = async (ms: number) => {
    now += ms;
    const announced = await completion.evaluate();
    completion.published(announced);
    return announced;
  };
  return {
    completion,
    archive,
    store,
    advance,
    counts,
    logs,
    setArchiveDown: (down: boolean) => (archiveDown = down),
  };
}

describe('StudyCompletion', () => {
  it('announces a study once, after the quiet period since its last instance', async () => {
    const h = harness();
    for (let i = 0; i < 3; i++) h.store(STUDY, S1);
    expect(await h.advance(5_000)).toEqual([]);
    h.store(STUDY, S2);
    expect(await h.advance(9_999)).toEqual([]);
    const [announced, ...rest] = await h.advance(1);
    expect(rest).toEqual([]);
    expect(announced).toMatchObject({ studyInstanceUid: STUDY, version: 1, series: [S1, S2], reason: 'quiet' });
    expect(await h.advance(60_000)).toEqual([]);
    expect(h.completion.pendingCount).toBe(0);
  });

  it('restarts the quiet period when the archive lists more than it told us about', async () => {
    const h = harness();
    h.store(STUDY, S1);
    h.archive.get(STUDY)![0].instances = 5; // four instances stored without a notification (yet)
    expect(await h.advance(10_000)).toEqual([]);
    expect(h.counts['recheck:changed']).toBe(1);
    expect(h.logs).toContain('study changed since the last look; quiet period restarted');
    expect(await h.advance(9_000)).toEqual([]);
    expect(await h.advance(1_000)).toHaveLength(1); // same counts a quiet period later
  });

  it('publishes after the maximum wait while the study keeps changing, and says so', async () => {
    const h = harness();
    let announced: unknown[] = [];
    for (let t = 0; t < 70 && announced.length === 0; t++) {
      h.store(STUDY, S1);
      announced = await h.advance(1_000);
    }
    expect(announced).toMatchObject([{ reason: 'max-wait', version: 1 }]);
    expect(h.logs).toContain('study published after the maximum wait while still changing');
  });

  it('makes a new version for a later new series, and none for more of the same', async () => {
    const h = harness();
    h.store(STUDY, S1);
    expect(await h.advance(10_000)).toMatchObject([{ version: 1, newSeries: [S1] }]);
    h.store(STUDY, S1); // a late instance of a published series
    expect(await h.advance(10_000)).toEqual([]);
    h.store(STUDY, S2);
    const [second] = await h.advance(10_000);
    expect(second).toMatchObject({ version: 2, series: [S1, S2], newSeries: [S2] });
    expect(second.eventId).not.toBe('');
  });

  it('ignores our own SEG/SR (the worker rule): no pending study, no new version', async () => {
    const h = harness();
    h.store(STUDY, S1);
    await h.advance(10_000);
    const ownSeg = segUids(S1, MODEL).seriesInstanceUid;
    h.store(STUDY, ownSeg, 'SEG');
    expect(h.counts['notification:own-output']).toBe(1);
    expect(h.completion.pendingCount).toBe(0);
    expect(await h.advance(60_000)).toEqual([]);
  });

  it('ignores our own output also when it is seen first on the re-check', async () => {
    const h = harness();
    h.store(STUDY, S1);
    h.archive
      .get(STUDY)!
      .push({ seriesInstanceUid: segUids(S1, MODEL).seriesInstanceUid, modality: 'SEG', instances: 1 });
    expect(await h.advance(10_000)).toMatchObject([{ series: [S1] }]);
  });

  it('drops malformed and unknown-store notifications, counting them', () => {
    const h = harness();
    h.completion.accept({ store: STORE, level: 'instance', studyInstanceUid: 'not a uid', seriesInstanceUid: S1 });
    h.completion.accept({ store: STORE, level: 'instance', studyInstanceUid: STUDY });
    h.completion.accept({ store: 'elsewhere', level: 'study', studyInstanceUid: STUDY });
    expect(h.counts).toMatchObject({ 'notification:malformed': 2, 'notification:unknown-store': 1 });
    expect(h.completion.pendingCount).toBe(0);
  });

  it('survives duplicate and out-of-order notifications with at most one more quiet period', async () => {
    const h = harness();
    h.store(STUDY, S2);
    h.completion.accept({ store: STORE, level: 'study', studyInstanceUid: STUDY }); // StableStudy before the series
    h.store(STUDY, S1);
    h.completion.accept({ store: STORE, level: 'instance', studyInstanceUid: STUDY, seriesInstanceUid: S1 }); // duplicate
    expect(await h.advance(10_000)).toEqual([]); // told of 2 in S1, the archive has 1: look again
    expect(await h.advance(10_000)).toMatchObject([{ version: 1, series: [S1, S2] }]);
  });

  it('keeps a study whose re-check fails pending, and forgets it at the abandon limit', async () => {
    const h = harness();
    h.store(STUDY, S1);
    h.setArchiveDown(true);
    expect(await h.advance(10_000)).toEqual([]);
    expect(h.counts['recheck:failed']).toBe(1);
    expect(h.completion.pendingCount).toBe(1);
    await h.advance(600_000);
    expect(h.counts['forgotten:abandoned']).toBe(1);
    expect(h.completion.pendingCount).toBe(0);
    expect(h.logs).toContain('pending study forgotten without an announcement');
  });

  it('caps the pending studies: the one waiting longest goes first', () => {
    const h = harness();
    const studies = ['1.2.3.1', '1.2.3.2', '1.2.3.3', '1.2.3.4'];
    for (const study of studies) h.store(study, S1);
    expect(h.completion.pendingCount).toBe(3);
    expect(h.counts['forgotten:capacity']).toBe(1);
    const written = h.completion.takeChanges();
    expect(written.find((c) => c.key === `study/${STORE}/1.2.3.1`)?.record).toBeUndefined();
  });

  it('resumes from restored state: the pending study is announced once, the published one not again', async () => {
    const first = harness();
    first.store(STUDY, S1);
    await first.advance(5_000);
    const records = first.completion.takeChanges().flatMap((c) => (c.record ? [c.record] : []));
    const second = harness();
    second.archive.set(STUDY, first.archive.get(STUDY)!);
    second.completion.restore(records);
    const [announced] = await second.advance(10_000); // the restored clock: due 10 s after the last instance
    expect(announced).toMatchObject({ version: 1 });
    const third = harness();
    third.archive.set(STUDY, first.archive.get(STUDY)!);
    third.completion.restore(second.completion.takeChanges().flatMap((c) => (c.record ? [c.record] : [])));
    third.completion.restore([announced.record]);
    expect(await third.advance(60_000)).toEqual([]);
  });
});
