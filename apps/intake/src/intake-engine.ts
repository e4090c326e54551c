import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { IntakeConfig } from '@app/config';
import { sleep } from '@app/errors';
import {
  cursorKey,
  decodeStudyRecord,
  encodeStudyRecord,
  StudyCompletion,
  type Announcement,
  type InstanceNotification,
  type IntakeMetrics,
  type NotificationSource,
  type PolledNotificationSource,
  type PushedNotificationSource,
  type StudyRecord,
} from '@app/intake';
import { IntakeStateTopic, newStudyAvailable, type StateWrite } from '@app/messaging';
import { HealthServer, JsonLogger } from '@app/service';
import { INTAKE_CONFIG, INTAKE_METRICS, NOTIFICATION_SOURCE } from './tokens.js';

/** Longest pause between polls of a source that is down. */
const MAX_SOURCE_BACKOFF_MS = 30_000;

/**
 * Drives the intake: reads the state back, then polls the source (or runs a pushed one: its
 * notifications are acknowledged once the tick that wrote their state committed), feeds the
 * completion rules and, every tick, lets the rules decide and writes their announcements, the
 * changed state and the source's cursor in one transaction. A source that fails is retried with
 * a growing pause; the process keeps running (readiness says so).
 */
@Injectable()
export class IntakeEngine implements OnApplicationBootstrap, OnApplicationShutdown {
  httpPort?: number;
  private cursor?: string;
  private writtenCursor?: string;
  private readonly stopping = new AbortController();
  private loops?: Promise<unknown>;
  private sourceDown?: { since: number; reason: string };
  private stateProblem?: string;
  /** Pushed notifications accepted and waiting for the commit that makes them durable (then acked). */
  private awaitingCommit: { resolve: () => void; reject: (error: Error) => void }[] = [];

  constructor(
    @Inject(INTAKE_CONFIG) private readonly config: IntakeConfig,
    @Inject(JsonLogger) private readonly log: JsonLogger,
    @Inject(StudyCompletion) private readonly completion: StudyCompletion,
    @Inject(NOTIFICATION_SOURCE) private readonly source: NotificationSource,
    @Inject(IntakeStateTopic) private readonly state: IntakeStateTopic,
    @Inject(INTAKE_METRICS) private readonly metrics: IntakeMetrics,
    @Inject(HealthServer) private readonly health: HealthServer,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.httpPort = await this.health.listen(this.config.httpPort);
    await this.state.connect();
    const started = performance.now();
    this.restore(await this.state.readAll());
    this.metrics.observePending(() => this.completion.pendingCount);
    this.log.info('intake started', {
      store: this.config.source.store,
      source: this.source.name,
      pending: this.completion.pendingCount,
      remembered: this.completion.rememberedCount,
      resumedFromCursor: this.cursor !== undefined,
      restoreMs: Math.round(performance.now() - started),
      httpPort: this.httpPort,
    });
    const sourceLoop = this.source.kind === 'polled' ? this.pollLoop(this.source) : this.pushLoop(this.source);
    this.loops = Promise.all([sourceLoop, this.tickLoop()]);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping.abort();
    await this.loops;
    // What was accepted since the last tick stays pending, not lost: written before leaving.
    await this.write([]).catch((error: unknown) =>
      this.log.write('warn', 'state not written at shutdown; the source is read again from the last cursor', {
        error: String(error),
      }),
    );
    // Whatever is still waiting was not made durable: not acknowledged, so delivered again.
    for (const waiter of this.awaitingCommit.splice(0)) waiter.reject(new Error('intake stopping'));
    await this.state.disconnect().catch(() => undefined);
    await this.health.close();
    this.log.info('intake stopped');
  }

  /** For readiness: undefined when fine, otherwise why not. */
  problems(): { source?: string; state?: string } {
    return {
      ...(this.sourceDown
        ? {
            source: `${this.source.name} failing since ${new Date(this.sourceDown.since).toISOString()}: ${this.sourceDown.reason}`,
          }
        : {}),
      ...(this.stateProblem ? { state: this.stateProblem } : {}),
    };
  }

  private restore(saved: Map<string, Buffer>): void {
    const records: StudyRecord[] = [];
    for (const [key, value] of saved) {
      if (key === cursorKey(this.config.source.store)) {
        this.cursor = this.writtenCursor = value.toString('utf8');
        continue;
      }
      const record = decodeStudyRecord(value);
      if (record) records.push(record);
      else this.log.write('warn', 'unreadable state record skipped', { key });
    }
    this.completion.restore(records);
  }

  private async pollLoop(source: PolledNotificationSource): Promise<void> {
    const signal = this.stopping.signal;
    let backoffMs = this.config.pollIntervalMs;
    while (!signal.aborted) {
      try {
        const batch = await source.poll(this.cursor, signal);
        this.sourceReachable();
        backoffMs = this.config.pollIntervalMs;
        for (const notification of batch.notifications) this.completion.accept(notification);
        this.cursor = batch.cursor;
        if (!batch.more) await sleep(this.config.pollIntervalMs, signal).catch(() => undefined);
      } catch (error) {
        if (signal.aborted) break;
        this.sourceFailed(error, 'the intake keeps polling and catches up from its cursor');
        await sleep(backoffMs, signal).catch(() => undefined);
        backoffMs = Math.min(backoffMs * 2, MAX_SOURCE_BACKOFF_MS);
      }
    }
  }

  /** A pushed source runs until it fails; then again after a growing pause. Unacknowledged messages wait on the platform. */
  private async pushLoop(source: PushedNotificationSource): Promise<void> {
    const signal = this.stopping.signal;
    let backoffMs = this.config.pollIntervalMs;
    const reachable = () => {
      this.sourceReachable();
      backoffMs = this.config.pollIntervalMs;
    };
    while (!signal.aborted) {
      try {
        await source.run((notifications) => this.acceptDurably(notifications), signal, reachable);
      } catch (error) {
        if (signal.aborted) break;
        this.sourceFailed(error, 'the intake keeps trying; unacknowledged messages are delivered again');
        await sleep(backoffMs, signal).catch(() => undefined);
        backoffMs = Math.min(backoffMs * 2, MAX_SOURCE_BACKOFF_MS);
      }
    }
  }

  /** Into the rules now; resolves once a commit holding their effect succeeded (the source acks then). */
  private acceptDurably(notifications: readonly InstanceNotification[]): Promise<void> {
    for (const notification of notifications) this.completion.accept(notification);
    return new Promise((resolve, reject) => this.awaitingCommit.push({ resolve, reject }));
  }

  private sourceReachable(): void {
    if (!this.sourceDown) return;
    this.log.info('source reachable again', { source: this.source.name, downMs: Date.now() - this.sourceDown.since });
    this.sourceDown = undefined;
  }

  private sourceFailed(error: unknown, consequence: string): void {
    const reason = error instanceof Error ? error.message : String(error);
    this.metrics.sourceError(this.source.name);
    if (!this.sourceDown) {
      this.sourceDown = { since: Date.now(), reason };
      this.log.write('error', `source unreachable; ${consequence}`, { source: this.source.name, error: reason });
    }
    this.sourceDown.reason = reason;
  }

  private async tickLoop(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      await sleep(this.config.tickMs, signal).catch(() => undefined);
      if (signal.aborted) break;
      try {
        await this.write(await this.completion.evaluate(signal));
      } catch (error) {
        this.log.write('warn', 'intake tick failed', { error: String(error) });
      }
    }
  }

  /** The announcements, the changed records and the cursor, in one transaction. */
  private async write(announcements: readonly Announcement[]): Promise<void> {
    // Taken together, before any await: a waiter's notifications are in exactly these changes.
    const changes = this.completion.takeChanges();
    const waiting = this.awaitingCommit.splice(0);
    const cursor = this.cursor;
    const writes: StateWrite[] = changes.map(({ key, record }) => ({
      key,
      value: record && encodeStudyRecord(record),
    }));
    for (const a of announcements) writes.push({ key: a.key, value: encodeStudyRecord(a.record) });
    if (cursor !== undefined && cursor !== this.writtenCursor) {
      writes.push({ key: cursorKey(this.config.source.store), value: Buffer.from(cursor, 'utf8') });
    }
    const events = announcements.map((a) =>
      newStudyAvailable({
        eventId: a.eventId,
        studyInstanceUid: a.studyInstanceUid,
        dicomwebBaseUrl: this.config.dicomweb.baseUrl,
        source: this.config.source.store,
        seriesInstanceUids: a.newSeries,
        studyVersion: a.version,
        occurredAt: new Date(a.decidedAt),
      }),
    );
    try {
      await this.state.commit(events, writes);
      this.stateProblem = undefined;
    } catch (error) {
      this.completion.unwritten(changes.map((c) => c.key));
      this.awaitingCommit.unshift(...waiting); // acknowledged after a later commit, or redelivered
      this.stateProblem = `state not written: ${error instanceof Error ? error.message : String(error)}`;
      this.log.write('warn', 'state and announcements not written; retried on the next tick', { error: String(error) });
      return;
    }
    this.writtenCursor = cursor;
    for (const waiter of waiting) waiter.resolve();
    this.completion.published(announcements);
    for (const a of announcements) {
      this.log.info('StudyAvailable published', {
        studyInstanceUid: a.studyInstanceUid,
        eventId: a.eventId,
        version: a.version,
        series: a.series.length,
        newSeries: a.newSeries.length,
        reason: a.reason,
        sinceLastNotificationMs: Date.now() - a.lastNotifiedAt,
      });
    }
  }
}
