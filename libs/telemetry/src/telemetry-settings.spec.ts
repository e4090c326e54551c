import { describe, expect, it } from 'vitest';
import { telemetrySettings } from './telemetry-settings.js';

const off = { traces: false, metrics: false, logs: false, enabled: false };

describe('telemetrySettings', () => {
  it('is off without any OTEL_* variable, so nothing tries to reach localhost:4318', () => {
    expect(telemetrySettings({})).toEqual(off);
    expect(telemetrySettings({ OTEL_SERVICE_NAME: 'x', OTEL_EXPORTER_OTLP_ENDPOINT: '  ' })).toEqual(off);
  });

  it('turns traces and metrics on with an OTLP endpoint, logs only when their exporter is named', () => {
    expect(telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toEqual({
      traces: true,
      metrics: true,
      logs: false,
      enabled: true,
    });
    expect(telemetrySettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' })).toMatchObject({
      traces: true,
      metrics: false,
    });
    expect(telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_LOGS_EXPORTER: 'otlp' }).logs).toBe(
      true,
    );
  });

  it('follows the named exporters, where none wins', () => {
    expect(telemetrySettings({ OTEL_TRACES_EXPORTER: 'console' })).toEqual({
      traces: true,
      metrics: false,
      logs: false,
      enabled: true,
    });
    expect(
      telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_METRICS_EXPORTER: 'none' }),
    ).toMatchObject({ traces: true, metrics: false });
    expect(telemetrySettings({ OTEL_TRACES_EXPORTER: 'otlp, NONE' }).traces).toBe(false);
    expect(
      telemetrySettings({ OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' }),
    ).toEqual(off);
  });

  it('is off with OTEL_SDK_DISABLED=true whatever else is set', () => {
    expect(telemetrySettings({ OTEL_SDK_DISABLED: 'TRUE', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toEqual(off);
    expect(
      telemetrySettings({ OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).enabled,
    ).toBe(true);
  });
});
