import { describe, expect, it } from 'vitest';
import { escapeSearchValue, identifierQuery, uuidV5 } from './identifiers.js';

describe('uuidV5', () => {
  it('matches the RFC 9562 example (DNS namespace, "www.example.com")', () => {
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
  });

  it('is stable for a name and differs between names', () => {
    expect(uuidV5('a')).toBe(uuidV5('a'));
    expect(uuidV5('a')).not.toBe(uuidV5('b'));
  });
});

describe('search values', () => {
  it('escapes the token separators', () => {
    expect(escapeSearchValue('a\\b|c,d$e')).toBe('a\\\\b\\|c\\,d\\$e');
  });

  it('builds an encoded identifier query', () => {
    expect(identifierQuery({ system: 'urn:dicom:uid', value: 'urn:oid:1.2.3' })).toBe(
      'identifier=urn%3Adicom%3Auid%7Curn%3Aoid%3A1.2.3',
    );
  });
});
