import { describe, expect, it } from 'vitest';
import { redactQueryValues } from './redact-url.js';

describe('redactQueryValues', () => {
  it('keeps the keys of the query and drops its values', () => {
    expect(
      redactQueryValues('http://pacs:8042', '/dicom-web/studies?PatientID=PAT-1&PatientID=PAT-2&includefield=all'),
    ).toEqual({
      'url.full': 'http://pacs:8042/dicom-web/studies?PatientID=…&includefield=…',
      'url.query': '?PatientID=…&includefield=…',
    });
  });

  it('leaves URLs without a query, and unparsable ones, to the instrumentation', () => {
    expect(redactQueryValues('http://pacs:8042', '/dicom-web/studies/1.2.3/series')).toBeUndefined();
    expect(redactQueryValues('not a url', 'neither')).toBeUndefined();
  });
});
