import { metrics, type MeterProvider } from '@opentelemetry/api';
import { TELEMETRY_SCOPE } from './otel-triage-tracer.js';

export const INTAKE_METRICS = {
  /** Notifications by store and outcome (accepted, own-output, malformed, unknown-store). */
  notifications: 'triage.intake.notifications',
  /** Re-checks before publishing by outcome (unchanged, changed, failed). */
  rechecks: 'triage.intake.rechecks',
  /** StudyAvailable published by reason (quiet, max-wait). */
  published: 'triage.intake.studies_published',
  /** Pending studies forgotten without an announcement, by reason (abandoned, capacity). */
  forgotten: 'triage.intake.studies_forgotten',
  /** Failed polls of a source (the platform down, credentials refused). */
  sourceErrors: 'triage.intake.source_errors',
  /** Studies waiting for their quiet period now. */
  pending: 'triage.intake.pending_studies',
} as const;

/**
 * The intake's counters (the IntakeMetrics port of @app/intake, structurally) on OpenTelemetry;
 * no-ops unless the SDK was started.
 */
export class OtelIntakeMetrics {
  private readonly notifications;
  private readonly rechecks;
  private readonly publishedCounter;
  private readonly forgottenCounter;
  private readonly sourceErrors;
  private readonly meter;

  constructor(meterProvider: MeterProvider = metrics.getMeterProvider()) {
    const meter = meterProvider.getMeter(TELEMETRY_SCOPE);
    this.meter = meter;
    this.notifications = meter.createCounter(INTAKE_METRICS.notifications, { description: 'Notifications received' });
    this.rechecks = meter.createCounter(INTAKE_METRICS.rechecks, { description: 'QIDO re-checks before publishing' });
    this.publishedCounter = meter.createCounter(INTAKE_METRICS.published, { description: 'StudyAvailable published' });
    this.forgottenCounter = meter.createCounter(INTAKE_METRICS.forgotten, {
      description: 'Pending studies forgotten without an announcement',
    });
    this.sourceErrors = meter.createCounter(INTAKE_METRICS.sourceErrors, { description: 'Failed source polls' });
  }

  observePending(count: () => number): void {
    this.meter
      .createObservableGauge(INTAKE_METRICS.pending, { description: 'Studies waiting to be announced' })
      .addCallback((result) => result.observe(count()));
  }

  notification(store: string, outcome: string): void {
    this.notifications.add(1, { 'triage.intake.store': store, 'triage.intake.outcome': outcome });
  }

  recheck(store: string, outcome: string): void {
    this.rechecks.add(1, { 'triage.intake.store': store, 'triage.intake.outcome': outcome });
  }

  published(store: string, reason: string): void {
    this.publishedCounter.add(1, { 'triage.intake.store': store, 'triage.intake.reason': reason });
  }

  forgotten(store: string, reason: string): void {
    this.forgottenCounter.add(1, { 'triage.intake.store': store, 'triage.intake.reason': reason });
  }

  sourceError(source: string): void {
    this.sourceErrors.add(1, { 'triage.intake.source': source });
  }
}
