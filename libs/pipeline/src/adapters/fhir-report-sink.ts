import type { FhirTransactionClient } from '@app/fhir';
import type { ReportReceipt, ReportSink } from '../ports.js';

/** The report as a FHIR transaction on a server (conditional creates: a re-send stores nothing new). */
export class FhirReportSink implements ReportSink {
  constructor(
    private readonly client: FhirTransactionClient,
    readonly label: string,
  ) {}

  async write(bundle: fhir4.Bundle, options: { signal?: AbortSignal } = {}): Promise<ReportReceipt> {
    const result = await this.client.submit(bundle, options.signal ? { signal: options.signal } : {});
    return {
      diagnosticReport: result.diagnosticReport,
      created: result.created,
      references: result.entries.map((entry) => entry.reference),
    };
  }
}
