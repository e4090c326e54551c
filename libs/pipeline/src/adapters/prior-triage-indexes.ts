import { JsonAttributes } from '@app/dicom';
import type { DicomwebClient } from '@app/dicomweb';
import { PermanentError, TransientError } from '@app/errors';
import { identifierQuery, readStoredReport, triageReportIdentifier, type StoredTriageReport } from '@app/fhir';
import type { ModelIdentity } from '@app/triage-contracts';
import type { ArchiveIndex, IndexedSeries, ReportIndex } from '../prior-triage.js';

/** The study's series by QIDO-RS (Modality is a required return key at series level). */
export class DicomwebArchiveIndex implements ArchiveIndex {
  constructor(private readonly client: DicomwebClient) {}

  async seriesOfStudy(studyInstanceUid: string, options: { signal?: AbortSignal } = {}): Promise<IndexedSeries[]> {
    const found = await this.client.searchSeries(
      studyInstanceUid,
      {},
      options.signal ? { signal: options.signal } : {},
    );
    return found.flatMap((dataset) => {
      const attributes = new JsonAttributes(dataset);
      const seriesInstanceUid = attributes.string('SeriesInstanceUID');
      const modality = attributes.string('Modality');
      return seriesInstanceUid ? [{ seriesInstanceUid, ...(modality ? { modality } : {}) }] : [];
    });
  }

  /** For readiness: the archive answers a one-result QIDO. Throws its typed error otherwise. */
  async ping(signal?: AbortSignal): Promise<void> {
    await this.client.searchStudies({ limit: 1 }, signal ? { signal } : {});
  }
}

export interface FhirReportIndexOptions {
  baseUrl: string;
  /** The same base identifier system the reports are written with. */
  identifierSystem: string;
  timeoutMs?: number;
  bearerToken?: string;
  fetch?: typeof fetch;
}

/**
 * Searches our DiagnosticReport by its deterministic identifier (see @app/fhir buildTriageBundle),
 * with its Observations, and reads the stored result back.
 */
export class FhirReportIndex implements ReportIndex {
  constructor(private readonly options: FhirReportIndexOptions) {}

  async findReport(
    studyInstanceUid: string,
    model: Pick<ModelIdentity, 'id' | 'version'>,
    options: { signal?: AbortSignal } = {},
  ): Promise<StoredTriageReport | undefined> {
    const base = this.options.baseUrl.replace(/\/+$/, '');
    const identifier = triageReportIdentifier(this.options.identifierSystem, studyInstanceUid, model);
    const url = `${base}/DiagnosticReport?${identifierQuery(identifier)}&_include=DiagnosticReport:result`;
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 30_000);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await (this.options.fetch ?? fetch)(url, {
        headers: {
          accept: 'application/fhir+json',
          ...(this.options.bearerToken ? { authorization: `Bearer ${this.options.bearerToken}` } : {}),
        },
        signal,
      });
    } catch (error) {
      throw new TransientError(`FHIR server unreachable: ${(error as Error).name}`, { cause: error });
    }
    if (response.status === 429 || response.status >= 500) {
      await response.body?.cancel();
      throw new TransientError(`FHIR search answered HTTP ${response.status}`);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new PermanentError('INTERNAL', `FHIR search for our report answered HTTP ${response.status}`);
    }
    const bundle = (await response.json()) as fhir4.Bundle;
    return readStoredReport(bundle, studyInstanceUid, model);
  }

  /** For readiness: the server answers a count-only search. Throws a TransientError otherwise. */
  async ping(signal?: AbortSignal): Promise<void> {
    const base = this.options.baseUrl.replace(/\/+$/, '');
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 30_000);
    try {
      const response = await (this.options.fetch ?? fetch)(`${base}/DiagnosticReport?_summary=count`, {
        headers: {
          accept: 'application/fhir+json',
          ...(this.options.bearerToken ? { authorization: `Bearer ${this.options.bearerToken}` } : {}),
        },
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      await response.body?.cancel();
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
    } catch (error) {
      throw new TransientError(`FHIR server not ready: ${(error as Error).message}`, { cause: error });
    }
  }
}
