import { lookupKeyword } from './dictionary.js';

/**
 * Read access to a DICOM dataset by keyword, the same whether it came from a
 * Part 10 file or from DICOMweb's JSON metadata. Absent or empty → undefined / [].
 */
export interface DicomAttributes {
  string(keyword: string): string | undefined;
  strings(keyword: string): string[];
  number(keyword: string): number | undefined;
  numbers(keyword: string): number[];
  sequence(keyword: string): DicomAttributes[];
  has(keyword: string): boolean;
}

export function tagOf(keyword: string): number {
  return lookupKeyword(keyword).tag;
}

/** DICOM JSON (PS3.18 F.2) keys: eight upper-case hex digits. */
export function jsonKey(tag: number): string {
  return tag.toString(16).toUpperCase().padStart(8, '0');
}

interface JsonElement {
  vr?: string;
  Value?: unknown[];
  BulkDataURI?: string;
  InlineBinary?: string;
}

/** A dataset in the DICOM JSON model, as QIDO-RS and WADO-RS metadata return it. */
export class JsonAttributes implements DicomAttributes {
  constructor(private readonly json: Record<string, JsonElement | undefined>) {}

  private values(keyword: string): unknown[] {
    return this.json[jsonKey(tagOf(keyword))]?.Value ?? [];
  }

  has(keyword: string): boolean {
    return this.values(keyword).length > 0;
  }

  string(keyword: string): string | undefined {
    return this.strings(keyword)[0];
  }

  strings(keyword: string): string[] {
    return this.values(keyword).map((value) => {
      // Person names come as {Alphabetic, Ideographic, Phonetic}.
      if (value !== null && typeof value === 'object') return (value as { Alphabetic?: string }).Alphabetic ?? '';
      return String(value);
    });
  }

  number(keyword: string): number | undefined {
    return this.numbers(keyword)[0];
  }

  numbers(keyword: string): number[] {
    return this.values(keyword).map(Number);
  }

  sequence(keyword: string): DicomAttributes[] {
    return this.values(keyword).map((item) => new JsonAttributes(item as Record<string, JsonElement>));
  }

  bulkDataUri(keyword: string): string | undefined {
    return this.json[jsonKey(tagOf(keyword))]?.BulkDataURI;
  }
}
