import { describe, expect, it } from 'vitest';
import { ConfigError } from './app-config.js';
import { parseIntakeConfig } from './intake-config.js';

const base = { DICOMWEB_BASE_URL: 'https://ws-dicom.dicom.azurehealthcareapis.com/v2', INTAKE_STORE: 'cloud' };

function problems(environment: Record<string, string>): string[] {
  try {
    parseIntakeConfig({ ...base, ...environment });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('the intake cloud sources (INTAKE_SOURCE)', () => {
  it('google-pubsub: the DICOM store and the subscription by resource name', () => {
    const config = parseIntakeConfig({
      ...base,
      INTAKE_SOURCE: 'google-pubsub',
      INTAKE_GOOGLE_DICOM_STORE: 'projects/p/locations/eu/datasets/d/dicomStores/ct',
      INTAKE_PUBSUB_SUBSCRIPTION: 'projects/p/subscriptions/intake',
    });
    expect(config.source).toEqual({
      kind: 'google-pubsub',
      store: 'cloud',
      dicomStore: 'projects/p/locations/eu/datasets/d/dicomStores/ct',
      subscription: 'projects/p/subscriptions/intake',
      maxMessages: 100,
    });
    expect(problems({ INTAKE_SOURCE: 'google-pubsub', INTAKE_GOOGLE_DICOM_STORE: 'ct' })).toEqual([
      'INTAKE_GOOGLE_DICOM_STORE: must be a DICOM store resource name, projects/…/locations/…/datasets/…/dicomStores/…',
      'INTAKE_PUBSUB_SUBSCRIPTION: is required with INTAKE_SOURCE=google-pubsub',
    ]);
  });

  it('push sources need exactly one push token; Event Grid takes the service host from DICOMWEB_BASE_URL', () => {
    const config = parseIntakeConfig({
      ...base,
      INTAKE_SOURCE: 'azure-event-grid',
      INTAKE_PUSH_TOKEN_FILE: '/etc/push/token',
    });
    expect(config.source).toEqual({
      kind: 'azure-event-grid',
      store: 'cloud',
      serviceHost: 'ws-dicom.dicom.azurehealthcareapis.com',
      push: { port: 3002, token: { file: '/etc/push/token' } },
    });
    expect(
      problems({
        INTAKE_SOURCE: 'google-pubsub-push',
        INTAKE_GOOGLE_DICOM_STORE: 'projects/p/locations/l/datasets/d/dicomStores/s',
      }),
    ).toEqual([
      "INTAKE_PUSH_TOKEN: INTAKE_SOURCE=google-pubsub-push needs exactly one of INTAKE_PUSH_TOKEN and INTAKE_PUSH_TOKEN_FILE (the push endpoint's shared token)",
    ]);
    expect(problems({ INTAKE_SOURCE: 'azure-event-grid', INTAKE_PUSH_TOKEN: 'short' })).toEqual([
      'INTAKE_PUSH_TOKEN: must be at least 16 characters',
    ]);
  });

  it('aws-healthimaging-sqs: region, data store and queue; endpoints optional', () => {
    expect(
      parseIntakeConfig({
        ...base,
        INTAKE_SOURCE: 'aws-healthimaging-sqs',
        INTAKE_AWS_REGION: 'us-east-1',
        INTAKE_AWS_DATASTORE_ID: 'bbc4f3cccbae4095a34170fddc19b13d',
        INTAKE_SQS_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/intake',
      }).source,
    ).toEqual({
      kind: 'aws-healthimaging-sqs',
      store: 'cloud',
      region: 'us-east-1',
      datastoreId: 'bbc4f3cccbae4095a34170fddc19b13d',
      queueUrl: 'https://sqs.us-east-1.amazonaws.com/111122223333/intake',
    });
    expect(problems({ INTAKE_SOURCE: 'aws-healthimaging-sqs' })).toEqual([
      'INTAKE_AWS_REGION: is required with INTAKE_SOURCE=aws-healthimaging-sqs',
      'INTAKE_AWS_DATASTORE_ID: is required with INTAKE_SOURCE=aws-healthimaging-sqs',
      'INTAKE_SQS_QUEUE_URL: is required with INTAKE_SOURCE=aws-healthimaging-sqs',
    ]);
  });

  it('azure-change-feed reads the DICOMweb root (and its credentials); the page size is bounded by the API', () => {
    expect(parseIntakeConfig({ ...base, INTAKE_SOURCE: 'azure-change-feed' }).source).toEqual({
      kind: 'azure-change-feed',
      store: 'cloud',
      pageSize: 200,
    });
    expect(problems({ INTAKE_SOURCE: 'azure-change-feed', INTAKE_AZURE_CHANGE_FEED_PAGE: '500' })).toHaveLength(1);
  });
});
