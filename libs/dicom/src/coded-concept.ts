/** A coded concept (PS3.3 8.8): what the SEG's and the SR's Code Sequences are made of. */
export interface CodedConcept {
  value: string;
  /** Coding Scheme Designator, e.g. "SCT", "DCM", "LN", or a private "99…". */
  scheme: string;
  meaning: string;
}

/** A Code Sequence item (PS3.3 Table 8.8-1), by keyword. */
export function codeItem(code: CodedConcept): {
  CodeValue: string;
  CodingSchemeDesignator: string;
  CodeMeaning: string;
} {
  return { CodeValue: code.value, CodingSchemeDesignator: code.scheme, CodeMeaning: code.meaning };
}
