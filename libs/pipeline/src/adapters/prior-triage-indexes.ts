import { JsonAttributes } from '@app/dicom';
import { authorizedFetch, fetchFailureCode, noAuth, type AuthProvider } from '@app/credentials';
import type { DicomwebClient } from '@app/dicomweb';
import { PermanentError, TransientError } from '@app/errors';
import {
  fhirAccessRefused,
  identifierQuery,
  readStoredReport,
  triageReportIdentifier,
  type StoredTriageReport,
} from '@app/fhir';
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
  /** How requests authenticate (FHIR_AUTH); default none. */
  auth?: AuthProvider;
  fetch?: typeof fetch;
}

/**
 * Searches our DiagnosticReport by its deterministic identifier (see @app/fhir buildTriageBundle),
 * with its Observations, and reads the stored result back.
 */
export class FhirReportIndex implements ReportIndex {
  private readonly fetch: ReturnType<typeof authorizedFetch>;

  constructor(private readonly options: FhirReportIndexOptions) {
    this.fetch = authorizedFetch(options.auth ?? noAuth(), options.fetch);
  }

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
      response = await this.fetch(url, { headers: { accept: 'application/fhir+json' }, signal });
    } catch (error) {
      if (error instanceof TransientError) throw error; // the token endpoint's
      throw new TransientError(`FHIR server unreachable: ${fetchFailureCode(error)}`, { cause: error });
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      throw fhirAccessRefused(response.status, 'the search for our report');
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
    let response: Response;
    try {
      response = await this.fetch(`${base}/DiagnosticReport?_summary=count`, {
        headers: { accept: 'application/fhir+json' },
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      const reason = error instanceof TransientError ? error.message : fetchFailureCode(error);
      throw new TransientError(`FHIR server not ready: ${reason}`, { cause: error });
    }
    await response.body?.cancel();
    // Refused credentials make the worker unready too: every study would wait on them.
    if (response.status === 401 || response.status === 403)
      throw fhirAccessRefused(response.status, 'the readiness check');
    if (!response.ok) throw new TransientError(`FHIR server not ready: HTTP ${response.status}`);
  }
}
