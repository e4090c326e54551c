import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './app-config.js';

describe('parseConfig', () => {
  it('defaults to the local test stack', () => {
    const config = parseConfig({});
    expect(config.kafka.brokers).toEqual(['127.0.0.1:19092']);
    expect(config.dicomweb).toEqual({
      baseUrl: 'http://127.0.0.1:18042/dicom-web',
      auth: { kind: 'none' },
      timeoutMs: 30_000,
    });
    expect(config.kafka.topics.studyAvailable).toBe('triage.study-available.v1');
  });

  it('parses lists, numbers and strips trailing slashes', () => {
    const config = parseConfig({
      KAFKA_BROKERS: 'a:9092, b:9092,',
      HTTP_PORT: '8081',
      FHIR_BASE_URL: 'https://fhir.example.org/r4/',
    });
    expect(config.kafka.brokers).toEqual(['a:9092', 'b:9092']);
    expect(config.httpPort).toBe(8081);
    expect(config.fhir.baseUrl).toBe('https://fhir.example.org/r4');
  });

  it('treats an empty variable as unset', () => {
    expect(parseConfig({ HTTP_PORT: '' }).httpPort).toBe(3000);
  });

  it('names every bad variable at once', () => {
    let error: unknown;
    try {
      parseConfig({
        HTTP_PORT: 'eighty',
        DICOMWEB_BASE_URL: 'ftp://x',
        KAFKA_TOPIC_DEAD_LETTER: 'bad topic',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/HTTP_PORT/);
    expect(problems).toMatch(/DICOMWEB_BASE_URL/);
    expect(problems).toMatch(/KAFKA_TOPIC_DEAD_LETTER/);
  });

  it('requires credentials for the chosen DICOMweb authentication', () => {
    expect(() => parseConfig({ DICOMWEB_AUTH: 'basic', DICOMWEB_USERNAME: 'u' })).toThrow(/DICOMWEB_USERNAME/);
    expect(() => parseConfig({ DICOMWEB_AUTH: 'bearer' })).toThrow(/DICOMWEB_TOKEN/);
    expect(parseConfig({ DICOMWEB_AUTH: 'bearer', DICOMWEB_TOKEN: 't' }).dicomweb.auth).toEqual({
      kind: 'bearer',
      token: 't',
    });
  });
});
