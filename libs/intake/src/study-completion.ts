import { createHash } from 'node:crypto';
import { ownOutputSeries } from '@app/pipeline';
import { notificationProblem, type InstanceNotification } from './notification.js';
import type { ArchivedSeries, ForgetReason, IntakeMetrics, PublishReason, StudySeriesIndex } from './ports.js';
import { studyKey, type PendingStudy, type StudyRecord } from './study-record.js';

/**
 * When a study is complete enough to announce. No platform says so, so notifications are
 * debounced per study: once none came for the quiet period, the series and instance counts are
 * re-checked over QIDO-RS and the quiet period restarts if they changed; after the maximum wait
 * the study is announced anyway. Each announcement is a study version: a later new source
 * series makes the next one. Series that are our own SEG/SR (the worker's rule, @app/pipeline)
 * never count. Memory is bounded: pending studies are capped, a study pending past the abandon
 * limit is forgotten, and published versions are remembered for a while only.
 */

export interface CompletionRules {
  quietPeriodMs: number;
  maxWaitMs: number;
  abandonAfterMs: number;
  maxPendingStudies: number;
  rememberPublishedMs: number;
  maxRememberedStudies: number;
}

export interface CompletionLog {
  (level: 'debug' | 'info' | 'warn', msg: string, fields: Record<string, unknown>): void;
}

export interface StudyCompletionOptions {
  store: string;
  rules: CompletionRules;
  index: StudySeriesIndex;
  model: { id: string; version: string };
  metrics: IntakeMetrics;
  log: CompletionLog;
  now?: () => number;
}

/** A version to publish: the caller writes it and the state in one transaction, then calls published(). */
export interface Announcement {
  key: string;
  eventId: string;
  studyInstanceUid: string;
  version: number;
  /** Every source series of this version. */
  series: string[];
  /** The series new since the previous version (all of them for version 1). */
  newSeries: string[];
  reason: PublishReason;
  /** The record as it will be once published (written in the same transaction). */
  record: StudyRecord;
  /** When the last notification came (lastAt), for the delay measurement. */
  lastNotifiedAt: number;
  decidedAt: number;
}

/** Studies re-checked per evaluate(): one slow archive must not hold a tick for long. */
const RECHECKS_PER_EVALUATION = 16;
const SWEEP_INTERVAL_MS = 60_000;

export class StudyCompletion {
  private readonly records = new Map<string, StudyRecord>();
  private readonly dirty = new Set<string>();
  private readonly stores: ReadonlySet<string>;
  private readonly now: () => number;
  private lastSweep = 0;

  constructor(private readonly options: StudyCompletionOptions) {
    this.stores = new Set([options.store]);
    this.now = options.now ?? Date.now;
  }

  /** The state read back at start-up (nothing is marked to be written again). */
  restore(records: Iterable<StudyRecord>): void {
    for (const record of records) {
      if (record.store === this.options.store) this.records.set(studyKey(record.store, record.study), record);
    }
  }

  get pendingCount(): number {
    let count = 0;
    for (const record of this.records.values()) if (record.pending) count++;
    return count;
  }

  get rememberedCount(): number {
    return this.records.size;
  }

  accept(notification: InstanceNotification): void {
    const { store, studyInstanceUid: study, seriesInstanceUid: series } = notification;
    const problem = notificationProblem(notification, this.stores);
    if (problem === 'malformed' || problem === 'unknown-store') {
      this.options.metrics.notification(store, problem);
      this.options.log('warn', 'notification ignored', { reason: problem, store, level: notification.level });
      return;
    }
    const key = studyKey(store, study);
    const record = this.records.get(key) ?? { store, study };
    if (series !== undefined && this.isOwnOutput(record, series)) {
      this.options.metrics.notification(store, 'own-output');
      return;
    }
    const now = this.now();
    if (!record.pending) this.makeRoom(key);
    const pending: PendingStudy = record.pending
      ? { ...record.pending, notified: { ...record.pending.notified } }
      : { firstAt: now, lastAt: now, notified: {} };
    pending.lastAt = now;
    delete pending.checked; // the study moved on since the last re-check
    if (series !== undefined) {
      pending.notified[series] = (pending.notified[series] ?? 0) + (notification.level === 'instance' ? 1 : 0);
    }
    this.put(key, { ...record, pending });
    this.options.metrics.notification(store, 'accepted');
  }

  /**
   * Re-checks the studies whose quiet period or maximum wait has passed and forgets those past
   * their limits. Changes to the state are applied (and marked to be written); announcements
   * are returned, applied only by published() once they are durable.
   */
  async evaluate(signal?: AbortSignal): Promise<Announcement[]> {
    const now = this.now();
    this.sweep(now);
    const { quietPeriodMs, maxWaitMs } = this.options.rules;
    const due = [...this.records.entries()]
      .filter(([, r]) => r.pending && (now - r.pending.lastAt >= quietPeriodMs || now - r.pending.firstAt >= maxWaitMs))
      .toSorted(([, a], [, b]) => a.pending!.lastAt - b.pending!.lastAt)
      .slice(0, RECHECKS_PER_EVALUATION);
    const announcements: Announcement[] = [];
    for (const [key, record] of due) {
      const announcement = await this.recheck(key, record, signal);
      if (announcement) announcements.push(announcement);
    }
    return announcements;
  }

  /** The announcements are on the broker with their state: remember them. */
  published(announcements: readonly Announcement[]): void {
    for (const a of announcements) {
      const current = this.records.get(a.key) ?? a.record;
      // A notification that came during the commit starts the next version's wait.
      const stillPending = current.pending && current.pending.lastAt > a.decidedAt ? current.pending : undefined;
      this.records.set(a.key, { ...a.record, ...(stillPending ? { pending: stillPending } : {}) });
      if (stillPending) this.dirty.add(a.key);
      this.options.metrics.published(a.record.store, a.reason);
    }
  }

  /** The records changed since the last call (undefined: forget the key), for the state topic. */
  takeChanges(): { key: string; record: StudyRecord | undefined }[] {
    const changes = [...this.dirty].map((key) => ({ key, record: this.records.get(key) }));
    this.dirty.clear();
    return changes;
  }

  /** The changes could not be written: write them with the next ones. */
  unwritten(keys: readonly string[]): void {
    for (const key of keys) this.dirty.add(key);
  }

  private async recheck(key: string, record: StudyRecord, signal?: AbortSignal): Promise<Announcement | undefined> {
    const pending = record.pending!;
    const { store, study } = record;
    const now = this.now();
    let archived: ArchivedSeries[];
    try {
      archived = await this.options.index.seriesOfStudy(study, signal);
    } catch (error) {
      this.options.metrics.recheck(store, 'failed');
      this.options.log('warn', 'study re-check failed; retried on the next evaluation', {
        store,
        studyInstanceUid: study,
        error: error instanceof Error ? error.message : String(error),
      });
      return undefined;
    }
    const ours = ownOutputSeries(archived, this.options.model);
    const counts = Object.fromEntries(
      archived.filter((s) => !ours.has(s.seriesInstanceUid)).map((s) => [s.seriesInstanceUid, s.instances]),
    );
    const series = Object.keys(counts).toSorted();
    const latest = this.records.get(key);
    if (latest?.pending !== pending) return undefined; // a notification came during the query: wait again

    if (series.length === 0) {
      // Only our own output, or not (yet) in the archive: nothing to announce; the abandon limit ends it.
      if (record.published) return this.forgetPending(key, record, 'only our own output or nothing new');
      this.put(key, { ...record, pending: { ...pending, lastAt: now } });
      return undefined;
    }
    const published = new Set(record.published?.series ?? []);
    const changed = pending.checked
      ? !sameCounts(pending.checked, counts)
      : notifiedDiffers(pending.notified, counts, published);
    const maxWaitPassed = now - pending.firstAt >= this.options.rules.maxWaitMs;
    if (changed && !maxWaitPassed) {
      this.options.metrics.recheck(store, 'changed');
      this.options.log('info', 'study changed since the last look; quiet period restarted', {
        store,
        studyInstanceUid: study,
        series: series.length,
        instances: sum(counts),
      });
      this.put(key, { ...record, pending: { ...pending, lastAt: now, checked: counts } });
      return undefined;
    }
    this.options.metrics.recheck(store, 'unchanged');
    const previous = record.published;
    if (previous && sameSeries(previous.series, series)) {
      return this.forgetPending(key, record, 'no new series since the last version');
    }
    const reason: PublishReason =
      changed || now - pending.lastAt < this.options.rules.quietPeriodMs ? 'max-wait' : 'quiet';
    if (reason === 'max-wait') {
      this.options.log('warn', 'study published after the maximum wait while still changing', {
        store,
        studyInstanceUid: study,
        waitedMs: now - pending.firstAt,
      });
    }
    const version = (previous?.version ?? 0) + 1;
    const before = new Set(previous?.series ?? []);
    const { pending: _published, ...rest } = record;
    return {
      key,
      eventId: versionEventId(store, study, version, series),
      studyInstanceUid: study,
      version,
      series,
      newSeries: series.filter((uid) => !before.has(uid)),
      reason,
      record: { ...rest, published: { version, series, at: now } },
      lastNotifiedAt: pending.lastAt,
      decidedAt: now,
    };
  }

  private isOwnOutput(record: StudyRecord, seriesUid: string): boolean {
    const known = new Set([...(record.published?.series ?? []), ...Object.keys(record.pending?.checked ?? {})]);
    if (known.size === 0) return false;
    const ours = ownOutputSeries(
      [...known].map((uid) => ({ seriesInstanceUid: uid })),
      this.options.model,
    );
    return ours.has(seriesUid);
  }

  private forgetPending(key: string, record: StudyRecord, why: string): undefined {
    const { pending: _dropped, ...rest } = record;
    this.options.log('debug', 'nothing to announce', { store: record.store, studyInstanceUid: record.study, why });
    this.put(key, rest.published ? rest : undefined);
    return undefined;
  }

  /** A new pending study at the cap pushes out the one that has waited longest. */
  private makeRoom(incoming: string): void {
    if (this.pendingCount < this.options.rules.maxPendingStudies) return;
    let oldest: [string, StudyRecord] | undefined;
    for (const entry of this.records) {
      if (
        entry[0] !== incoming &&
        entry[1].pending &&
        (!oldest || entry[1].pending.firstAt < oldest[1].pending!.firstAt)
      ) {
        oldest = entry;
      }
    }
    if (oldest) this.forget(oldest[0], oldest[1], 'capacity');
  }

  private forget(key: string, record: StudyRecord, reason: ForgetReason): void {
    const pending = record.pending!;
    this.options.metrics.forgotten(record.store, reason);
    this.options.log('warn', 'pending study forgotten without an announcement', {
      store: record.store,
      studyInstanceUid: record.study,
      reason,
      pendingMs: this.now() - pending.firstAt,
      notifiedSeries: Object.keys(pending.notified).length,
    });
    const { pending: _dropped, ...rest } = record;
    this.put(key, rest.published ? rest : undefined);
  }

  /** Abandoned studies, and published versions past their memory. */
  private sweep(now: number): void {
    const { abandonAfterMs, rememberPublishedMs, maxRememberedStudies } = this.options.rules;
    for (const [key, record] of this.records) {
      if (record.pending && now - record.pending.firstAt >= abandonAfterMs) this.forget(key, record, 'abandoned');
    }
    if (now - this.lastSweep < SWEEP_INTERVAL_MS && this.records.size <= maxRememberedStudies) return;
    this.lastSweep = now;
    const remembered = [...this.records]
      .filter(([, r]) => !r.pending)
      .toSorted(([, a], [, b]) => a.published!.at - b.published!.at);
    let excess = this.records.size - maxRememberedStudies;
    for (const [key, record] of remembered) {
      if (excess > 0 || now - record.published!.at >= rememberPublishedMs) {
        this.put(key, undefined);
        excess--;
      }
    }
  }

  private put(key: string, record: StudyRecord | undefined): void {
    if (record) this.records.set(key, record);
    else this.records.delete(key);
    this.dirty.add(key);
  }
}

function sameCounts(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/**
 * The archive lists a different number of instances than we were told of for a series we heard
 * about, except those of the last version (we were told only of the instances since).
 */
function notifiedDiffers(
  notified: Record<string, number>,
  counts: Record<string, number>,
  published: ReadonlySet<string>,
): boolean {
  return Object.entries(notified).some(([series, n]) => n > 0 && !published.has(series) && counts[series] !== n);
}

function sameSeries(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((uid, i) => uid === b[i]);
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** A name-based UUID (v5 layout over SHA-1): the same version of a study always gets the same event id. */
export function versionEventId(store: string, study: string, version: number, series: readonly string[]): string {
  const hash = createHash('sha1')
    .update(`covid-ct-triage intake\0${store}\0${study}\0${version}\0${series.join(',')}`)
    .digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
