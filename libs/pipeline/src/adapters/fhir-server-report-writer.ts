import type { FhirReportWriter } from '@app/fhir';
import type { ReportReceipt, ReportWriter } from '../ports.js';

/** The report as a FHIR transaction on a server (conditional creates: a re-send stores nothing new). */
export class FhirServerReportWriter implements ReportWriter {
  constructor(
    private readonly writer: FhirReportWriter,
    readonly label: string,
  ) {}

  async write(bundle: fhir4.Bundle, options: { signal?: AbortSignal } = {}): Promise<ReportReceipt> {
    const result = await this.writer.submit(bundle, options.signal ? { signal: options.signal } : {});
    return {
      diagnosticReport: result.diagnosticReport,
      created: result.created,
      references: result.entries.map((entry) => entry.reference),
    };
  }
}
