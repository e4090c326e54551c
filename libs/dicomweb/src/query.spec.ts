import { describe, expect, it } from 'vitest';
import { encodeQidoQuery, encodeQueryValue, redact, safeUrl } from './query.js';

describe('QIDO query encoding', () => {
  it('keeps DICOM matching syntax literal and encodes what would break the query', () => {
    expect(encodeQueryValue('DOE^JOHN*')).toBe('DOE^JOHN*');
    expect(encodeQueryValue('PHANTOM-000?')).toBe('PHANTOM-000?');
    expect(encodeQueryValue('1.2.3,1.2.4')).toBe('1.2.3,1.2.4');
    expect(encodeQueryValue('100000-120000')).toBe('100000-120000');
    expect(encodeQueryValue('a&b=c+d %#')).toBe('a%26b%3Dc%2Bd%20%25%23');
    expect(encodeQueryValue('Müller')).toBe('M%C3%BCller');
  });

  it('orders attributes as given, then includefield, limit, offset, fuzzymatching', () => {
    const { search, values } = encodeQidoQuery({
      fuzzymatching: false,
      offset: 0,
      limit: 5,
      includefield: ['00081030'],
      Modality: 'CT',
      SeriesInstanceUID: ['1.2', '1.3'],
      InstanceNumber: 7,
      '00400275.00401001': 'RP1',
    });
    expect(search).toBe(
      'Modality=CT&SeriesInstanceUID=1.2,1.3&InstanceNumber=7&00400275.00401001=RP1' +
        '&includefield=00081030&limit=5&offset=0&fuzzymatching=false',
    );
    expect(values).toEqual(['CT', '1.2,1.3', '7', 'RP1']);
  });

  it('refuses names that are neither keywords nor tags, and bad numbers', () => {
    expect(() => encodeQidoQuery({ 'a=b': 'x' })).toThrow(TypeError);
    expect(() => encodeQidoQuery({ includefield: ['x y'] })).toThrow(TypeError);
    expect(() => encodeQidoQuery({ Modality: true })).toThrow(TypeError);
    expect(() => encodeQidoQuery({ limit: 1.5 })).toThrow(RangeError);
  });
});

describe('safe URLs and redaction', () => {
  it('drops credentials and query values', () => {
    expect(safeUrl('https://user:pw@archive.example/dicom-web/studies?PatientName=DOE*&access_token=abc')).toBe(
      'https://archive.example/dicom-web/studies?PatientName=…&access_token=…',
    );
    expect(safeUrl('http://h/x')).toBe('http://h/x');
    expect(safeUrl('not a url')).toBe('(invalid URL)');
  });

  it('redacts every occurrence of the given values', () => {
    expect(redact('no match for DOE* in DOE*', ['DOE*', 'x'])).toBe('no match for … in …');
  });
});
