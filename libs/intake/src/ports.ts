import type { InstanceNotification } from './notification.js';

/**
 * The intake's ports. Sources are adapters of a platform's notifications; the completion rules
 * see only InstanceNotification. Two shapes of source exist (docs/intake.md):
 * - polled (Orthanc /changes, a QIDO-RS poller, Azure's change feed): the intake asks for what
 *   came after its durable cursor;
 * - pushed (Pub/Sub, SQS, Event Grid): the platform delivers, and the adapter acknowledges a
 *   message only once `accept` has resolved, i.e. once the state it changed is durable.
 */
export interface PolledNotificationSource {
  readonly kind: 'polled';
  /** For logs, metrics and readiness: "orthanc", "qido". */
  readonly name: string;
  /** What came after `cursor` (undefined: start from now), and the cursor to resume after it. */
  poll(cursor: string | undefined, signal: AbortSignal): Promise<NotificationBatch>;
}

export interface NotificationBatch {
  notifications: InstanceNotification[];
  /** Opaque to the intake; stored durably with the state these notifications produced. */
  cursor: string;
  /** True when more is waiting now (poll again at once). */
  more: boolean;
}

export interface PushedNotificationSource {
  readonly kind: 'pushed';
  readonly name: string;
  /**
   * Delivers until the signal aborts; `accept` resolves once the notifications are durable (then
   * ack), and rejects when they could not be made durable (then do not ack: the platform delivers
   * again). Throws when the platform fails (the intake logs it, backs off and runs it again);
   * `reachable` after each exchange that worked, so the intake can say the platform is back.
   */
  run(
    accept: (notifications: InstanceNotification[]) => Promise<void>,
    signal: AbortSignal,
    reachable: () => void,
  ): Promise<void>;
}

/** What a pushed source tells about a message it cannot use (logs and metrics; never thrown). */
export interface SourceReport {
  /** A message that is not a notification at all: left unacknowledged for the platform's dead-letter policy. */
  malformed(reason: string, fields?: Record<string, unknown>): void;
  /** A message understood and deliberately dropped (acknowledged): a deleted image set, an event type not watched. */
  skipped(reason: string, fields?: Record<string, unknown>): void;
  /** Anything else worth a warning line (an acknowledgement that failed: the message comes again). */
  warn(message: string, fields?: Record<string, unknown>): void;
}

export type NotificationSource = PolledNotificationSource | PushedNotificationSource;

/** One series of a study as the store lists it now (QIDO-RS, series level). */
export interface ArchivedSeries {
  seriesInstanceUid: string;
  modality?: string;
  instances: number;
}

/** The re-check before publishing: the study's series and their instance counts. */
export interface StudySeriesIndex {
  seriesOfStudy(studyInstanceUid: string, signal?: AbortSignal): Promise<ArchivedSeries[]>;
}

/** 'skipped': a platform message understood and dropped on purpose (a deleted image set, an unwatched event type). */
export type NotificationOutcome = 'accepted' | 'own-output' | 'malformed' | 'unknown-store' | 'skipped';
export type PublishReason = 'quiet' | 'max-wait';
export type ForgetReason = 'abandoned' | 'capacity';

/** What the rules count; @app/telemetry has the OpenTelemetry implementation. */
export interface IntakeMetrics {
  notification(store: string, outcome: NotificationOutcome): void;
  recheck(store: string, outcome: 'unchanged' | 'changed' | 'failed'): void;
  published(store: string, reason: PublishReason): void;
  forgotten(store: string, reason: ForgetReason): void;
  sourceError(source: string): void;
  /** A gauge of the studies pending now, read when metrics are collected. */
  observePending(count: () => number): void;
}

export const NO_METRICS: IntakeMetrics = {
  notification: () => undefined,
  recheck: () => undefined,
  published: () => undefined,
  forgotten: () => undefined,
  sourceError: () => undefined,
  observePending: () => undefined,
};
