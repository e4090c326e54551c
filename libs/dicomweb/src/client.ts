import { isDicomJsonDataset, type DicomJsonDataset } from './dicom-json.js';
import { DicomwebResponseError } from './errors.js';
import { httpError } from './failures.js';
import { buildMultipartRelated } from './multipart.js';
import { instancePath, seriesPath, studyPath } from './paths.js';
import { encodeQidoQuery, type QidoQuery } from './query.js';
import { discard, parseJson, readText, reasonFrom } from './response-body.js';
import { multipartAccept, retrieveParts, streamInstances } from './retrieve.js';
import { identifyInstance, interpretStoreResponse, isStoreResponse, type StoreResult } from './stow.js';
import { Transport, type DicomwebClientOptions } from './transport.js';

/**
 * A DICOMweb client (QIDO-RS, WADO-RS, STOW-RS) on Node's fetch. Every request
 * gets a timeout and bounded retries (transport.ts); failures surface as
 * TransientError or PermanentError subclasses (see errors.ts). Series retrieval
 * streams.
 */

export interface RequestOptions {
  signal?: AbortSignal;
}

export interface RetrieveOptions extends RequestOptions {
  /** Transfer syntax UID to ask for; '*' (default) returns what the archive stored, without transcoding. */
  transferSyntax?: string;
}

export interface DicomwebClient {
  readonly baseUrl: string;
  /** QIDO-RS /studies. */
  searchStudies(query?: QidoQuery, options?: RequestOptions): Promise<DicomJsonDataset[]>;
  /** QIDO-RS /studies/{study}/series. */
  searchSeries(studyUid: string, query?: QidoQuery, options?: RequestOptions): Promise<DicomJsonDataset[]>;
  /** QIDO-RS /studies/{study}[/series/{series}]/instances. Orthanc returns no geometry here: use metadata. */
  searchInstances(
    studyUid: string,
    seriesUid?: string,
    query?: QidoQuery,
    options?: RequestOptions,
  ): Promise<DicomJsonDataset[]>;
  /** WADO-RS /studies/{study}/metadata: one dataset per instance. */
  retrieveStudyMetadata(studyUid: string, options?: RequestOptions): Promise<DicomJsonDataset[]>;
  /** WADO-RS /studies/{study}/series/{series}/metadata: one dataset per instance. */
  retrieveSeriesMetadata(studyUid: string, seriesUid: string, options?: RequestOptions): Promise<DicomJsonDataset[]>;
  /**
   * WADO-RS series: each Part 10 instance as soon as it has arrived, holding
   * one instance in memory at a time. Retried only until the first instance is
   * yielded; a failure after that is a DicomwebUnavailableError.
   */
  retrieveSeries(
    studyUid: string,
    seriesUid: string,
    options?: RetrieveOptions,
  ): AsyncGenerator<Uint8Array, void, undefined>;
  /** WADO-RS instance as a Part 10 file. */
  retrieveInstance(studyUid: string, seriesUid: string, sopUid: string, options?: RetrieveOptions): Promise<Uint8Array>;
  /** WADO-RS frames (1-based numbers): the pixel data of each frame, in the order asked. */
  retrieveFrames(
    studyUid: string,
    seriesUid: string,
    sopUid: string,
    frameNumbers: readonly number[],
    options?: RetrieveOptions,
  ): Promise<Uint8Array[]>;
  /** STOW-RS of Part 10 instances, optionally into a given study. */
  store(instances: readonly Uint8Array[], studyUid?: string, options?: RequestOptions): Promise<StoreResult>;
}

const DICOM_JSON = 'application/dicom+json';

export function createDicomwebClient(options: DicomwebClientOptions): DicomwebClient {
  return new FetchDicomwebClient(new Transport(options));
}

class FetchDicomwebClient implements DicomwebClient {
  readonly baseUrl: string;

  constructor(private readonly transport: Transport) {
    this.baseUrl = transport.baseUrl;
  }

  // ---- QIDO-RS -------------------------------------------------------------

  async searchStudies(query?: QidoQuery, options?: RequestOptions): Promise<DicomJsonDataset[]> {
    return this.search('/studies', query, options);
  }

  async searchSeries(studyUid: string, query?: QidoQuery, options?: RequestOptions): Promise<DicomJsonDataset[]> {
    return this.search(`${studyPath(studyUid)}/series`, query, options);
  }

  async searchInstances(
    studyUid: string,
    seriesUid?: string,
    query?: QidoQuery,
    options?: RequestOptions,
  ): Promise<DicomJsonDataset[]> {
    const parent = seriesUid === undefined ? studyPath(studyUid) : seriesPath(studyUid, seriesUid);
    return this.search(`${parent}/instances`, query, options);
  }

  private async search(path: string, query: QidoQuery = {}, options: RequestOptions = {}): Promise<DicomJsonDataset[]> {
    const { search, values } = encodeQidoQuery(query);
    return this.transport.execute(
      {
        method: 'GET',
        path,
        search,
        secrets: values,
        accept: DICOM_JSON,
        signal: options.signal,
        // A 404 from QIDO means a wrong base URL more often than a missing study.
        notFound: 'INTERNAL',
      },
      (response) => this.readDatasets(response, path),
    );
  }

  // ---- WADO-RS metadata ------------------------------------------------------

  async retrieveStudyMetadata(studyUid: string, options: RequestOptions = {}): Promise<DicomJsonDataset[]> {
    return this.metadata(`${studyPath(studyUid)}/metadata`, options);
  }

  async retrieveSeriesMetadata(
    studyUid: string,
    seriesUid: string,
    options: RequestOptions = {},
  ): Promise<DicomJsonDataset[]> {
    return this.metadata(`${seriesPath(studyUid, seriesUid)}/metadata`, options);
  }

  private metadata(path: string, options: RequestOptions): Promise<DicomJsonDataset[]> {
    return this.transport.execute(
      { method: 'GET', path, accept: DICOM_JSON, signal: options.signal, notFound: 'STUDY_NOT_FOUND' },
      (response) => this.readDatasets(response, path),
    );
  }

  private async readDatasets(response: Response, path: string): Promise<DicomJsonDataset[]> {
    if (response.status === 204) {
      await discard(response);
      return [];
    }
    const text = await readText(response, this.transport.maxJsonBytes, 'a DICOM JSON response');
    if (text.trim() === '') return [];
    const parsed = parseJson(text);
    if (!Array.isArray(parsed) || !parsed.every(isDicomJsonDataset)) {
      throw new DicomwebResponseError(
        { ...this.transport.details('GET', path), status: response.status },
        'expected a DICOM JSON array',
      );
    }
    return parsed;
  }

  // ---- WADO-RS bulk ----------------------------------------------------------

  async *retrieveSeries(
    studyUid: string,
    seriesUid: string,
    options: RetrieveOptions = {},
  ): AsyncGenerator<Uint8Array, void, undefined> {
    // In the generator body, so that bad arguments reject the first next(), not the call.
    const path = seriesPath(studyUid, seriesUid);
    const accept = multipartAccept('application/dicom', options.transferSyntax);
    yield* streamInstances(this.transport, path, accept, options.signal);
  }

  async retrieveInstance(
    studyUid: string,
    seriesUid: string,
    sopUid: string,
    options: RetrieveOptions = {},
  ): Promise<Uint8Array> {
    const path = instancePath(studyUid, seriesUid, sopUid);
    const accept = multipartAccept('application/dicom', options.transferSyntax);
    const parts = await retrieveParts(this.transport, path, accept, options.signal);
    if (parts.length !== 1) {
      throw new DicomwebResponseError(
        this.transport.details('GET', path),
        `expected 1 instance, got ${parts.length} parts`,
      );
    }
    return parts[0].body;
  }

  async retrieveFrames(
    studyUid: string,
    seriesUid: string,
    sopUid: string,
    frameNumbers: readonly number[],
    options: RetrieveOptions = {},
  ): Promise<Uint8Array[]> {
    if (frameNumbers.length === 0 || !frameNumbers.every((n) => Number.isSafeInteger(n) && n >= 1)) {
      throw new RangeError('frame numbers must be a non-empty list of integers ≥ 1');
    }
    const path = `${instancePath(studyUid, seriesUid, sopUid)}/frames/${frameNumbers.join(',')}`;
    // Orthanc refuses a bare application/octet-stream (400); multipart of it works everywhere.
    const accept = multipartAccept('application/octet-stream', options.transferSyntax);
    const parts = await retrieveParts(this.transport, path, accept, options.signal);
    if (parts.length !== frameNumbers.length) {
      throw new DicomwebResponseError(
        this.transport.details('GET', path),
        `asked for ${frameNumbers.length} frames, got ${parts.length} parts`,
      );
    }
    return parts.map((part) => part.body);
  }

  // ---- STOW-RS ---------------------------------------------------------------

  async store(instances: readonly Uint8Array[], studyUid?: string, options: RequestOptions = {}): Promise<StoreResult> {
    if (instances.length === 0) throw new RangeError('store() needs at least one instance');
    const path = studyUid === undefined ? '/studies' : studyPath(studyUid);
    const identities = instances.map(identifyInstance);
    const { body, contentType } = buildMultipartRelated(instances, { type: 'application/dicom' });
    const details = this.transport.details('POST', path);
    return this.transport.execute(
      {
        method: 'POST',
        path,
        accept: DICOM_JSON,
        body,
        contentType,
        signal: options.signal,
        notFound: 'INTERNAL',
        // 202: some failed; 400/409: none or some stored, per the FailedSOPSequence.
        accepts: (status) => status === 200 || status === 202 || status === 400 || status === 409,
      },
      async (response, attempt) => {
        const text = await readText(response, this.transport.maxJsonBytes, 'a STOW-RS response');
        const parsed = parseJson(text);
        if (isStoreResponse(parsed)) return interpretStoreResponse(response.status, parsed, identities);
        if (response.status === 200 && text.trim() === '') {
          return interpretStoreResponse(response.status, undefined, identities);
        }
        const reason = reasonFrom(response, text, attempt.credentials);
        if (response.ok)
          throw new DicomwebResponseError(
            { ...details, status: response.status },
            'the STOW response is not a DICOM JSON dataset',
          );
        throw httpError('INTERNAL', { ...details, status: response.status, ...(reason ? { reason } : {}) }, response);
      },
    );
  }
}
