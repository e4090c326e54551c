import { noAuth, type AuthProvider } from '@app/credentials';
import { AccessRefusedError, PermanentError, TransientError } from '@app/errors';
import { Client } from 'fhir-kit-client';

/**
 * Sends a triage transaction Bundle to a FHIR R4 server. The only FHIR client the rest of the
 * service sees: the implementation (fhir-kit-client today) stays behind this interface.
 */
export interface FhirTransactionClient {
  submit(bundle: fhir4.Bundle, options?: { signal?: AbortSignal }): Promise<FhirSubmitResult>;
}

export interface FhirSubmitResult {
  /** The stored report, e.g. "DiagnosticReport/123". */
  diagnosticReport: string;
  /** False when the report already existed (conditional create matched): a re-send. */
  created: boolean;
  /** One per bundle entry, in order. */
  entries: FhirEntryResult[];
}

export interface FhirEntryResult {
  resourceType: string;
  /** "<type>/<id>", without the version. */
  reference: string;
  created: boolean;
}

export interface FhirTransactionClientOptions {
  /** The server's base URL, e.g. http://127.0.0.1:18080/fhir. */
  baseUrl: string;
  /** Per request; default 30 s. */
  timeoutMs?: number;
  /** How requests authenticate (FHIR_AUTH); default none. */
  auth?: AuthProvider;
}

/** The FHIR server could not be reached, timed out, or answered 408, 429 or 5xx: retry later. */
export class FhirUnavailableError extends TransientError {
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The FHIR server refused the bundle (4xx): retrying the same bundle cannot help. */
export class FhirRejectedError extends PermanentError {
  constructor(
    message: string,
    readonly status: number,
    /** The OperationOutcome's issues (severity error/fatal), reduced to code, message id and path. */
    readonly diagnostics: string[],
  ) {
    super('INTERNAL', message);
  }
}

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_ISSUES = 5;

export function createFhirTransactionClient(options: FhirTransactionClientOptions): FhirTransactionClient {
  const auth = options.auth ?? noAuth();
  const client = new Client({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    // Called before every request: the provider's current headers (a token renewed before expiry).
    // fhir-kit-client awaits it (buildRequest), though its type says void.
    // oxlint-disable-next-line typescript/no-misused-promises
    requestSigner: async (url: string, init: RequestInit) => {
      const headers = new Headers(init.headers);
      const body = typeof init.body === 'string' ? { body: init.body } : {};
      const request = { method: init.method ?? 'GET', url, ...body };
      for (const [name, value] of Object.entries(await auth.headers(request))) headers.set(name, value);
      init.headers = headers;
    },
  });
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const send = async (body: Parameters<Client['transaction']>[0]['body'], signal: AbortSignal) =>
    (await client.transaction({ body, options: { signal } })) as unknown as fhir4.Bundle;

  return {
    async submit(bundle, submitOptions = {}) {
      if (bundle.resourceType !== 'Bundle' || bundle.type !== 'transaction') {
        throw new PermanentError('INTERNAL', 'FHIR submit needs a transaction Bundle');
      }
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = submitOptions.signal ? AbortSignal.any([submitOptions.signal, timeout]) : timeout;
      const body = bundle as unknown as Parameters<Client['transaction']>[0]['body'];
      let response: fhir4.Bundle;
      try {
        response = await send(body, signal).catch(async (error: unknown) => {
          // A 401 may only mean the token expired a moment early: one refresh, one repeat.
          if (statusOf(error) !== 401 || !auth.refresh || !(await auth.refresh())) throw error;
          return send(body, signal);
        });
      } catch (error) {
        throw classify(error, sensitiveValues(bundle));
      }
      return readResponse(bundle, response);
    },
  };
}

function readResponse(request: fhir4.Bundle, response: fhir4.Bundle): FhirSubmitResult {
  const sent = request.entry ?? [];
  const received = response?.entry ?? [];
  if (response?.resourceType !== 'Bundle' || received.length !== sent.length) {
    throw new PermanentError('INTERNAL', 'FHIR server answered the transaction with an unexpected body');
  }
  const entries = sent.map((entry, index): FhirEntryResult => {
    const resourceType = entry.resource?.resourceType ?? entry.request?.url ?? 'unknown';
    const answer = received[index]?.response;
    const reference = answer?.location ? referenceOf(answer.location) : undefined;
    if (!answer || !reference) {
      throw new PermanentError(
        'INTERNAL',
        `FHIR transaction response lacks a location for entry ${index} (${resourceType})`,
      );
    }
    return { resourceType, reference, created: answer.status.trim().startsWith('201') };
  });
  const report = entries.find((entry) => entry.resourceType === 'DiagnosticReport');
  if (!report) throw new PermanentError('INTERNAL', 'the bundle holds no DiagnosticReport');
  return { diagnosticReport: report.reference, created: report.created, entries };
}

/** "DiagnosticReport/123/_history/1" or an absolute URL of it → "DiagnosticReport/123". */
export function referenceOf(location: string): string | undefined {
  const match = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9.-]{1,64})(?:\/_history\/[^/]+)?\/?$/.exec(location);
  return match ? `${match[1]}/${match[2]}` : undefined;
}

interface ResponseError {
  response: { status: number; data: unknown };
}

function isResponseError(error: unknown): error is ResponseError {
  const response = (error as { response?: { status?: unknown } } | null)?.response;
  return typeof response?.status === 'number';
}

function statusOf(error: unknown): number | undefined {
  return isResponseError(error) ? error.response.status : undefined;
}

/** Maps what fhir-kit-client throws onto the shared taxonomy; messages never hold patient data. */
export function classify(error: unknown, sensitive: string[] = []): Error {
  if (isResponseError(error)) {
    const { status, data } = error.response;
    const diagnostics = issuesOf(data).map((issue) => redact(issue, sensitive));
    const detail = diagnostics.length ? `: ${diagnostics.join(' | ')}` : '';
    if (status === 408 || status === 429 || status >= 500) {
      return new FhirUnavailableError(`FHIR server answered the transaction with HTTP ${status}${detail}`, status);
    }
    if (status === 401 || status === 403) return fhirAccessRefused(status, 'the transaction');
    if (status >= 200 && status < 300) {
      return new PermanentError(
        'INTERNAL',
        `FHIR server answered the transaction with HTTP ${status} and no JSON body`,
      );
    }
    return new FhirRejectedError(
      `FHIR server rejected the transaction with HTTP ${status}${detail}`,
      status,
      diagnostics,
    );
  }
  // No response: fetch failed (connection refused, DNS, TLS) or the request was aborted or timed out.
  const name = error instanceof Error ? error.name : '';
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  const reason =
    name === 'TimeoutError'
      ? 'timed out'
      : name === 'AbortError'
        ? 'aborted'
        : typeof cause?.code === 'string'
          ? cause.code
          : error instanceof Error
            ? error.message
            : String(error);
  return new FhirUnavailableError(`FHIR server unreachable: ${redact(reason, sensitive)}`, undefined, { cause: error });
}

/**
 * The FHIR server refused our credentials (401, after one refresh) or their scopes (403):
 * transient, the study waits for an operator instead of being parked.
 */
export function fhirAccessRefused(status: 401 | 403, what: string): AccessRefusedError {
  const reason =
    status === 401 ? 'rejected the credentials (HTTP 401)' : 'refused the credentials the rights needed (HTTP 403)';
  return new AccessRefusedError(`FHIR server ${reason} for ${what}`, status);
}

/**
 * Each error issue as its code, the server's message id (HAPI-0450) and the FHIRPath it points
 * at, never the diagnostics text: servers echo what they were sent there (HAPI quotes a
 * conditional-create URL, patient identifier included), and these lines reach logs,
 * TriageFailed and dead-letter headers.
 */
function issuesOf(data: unknown): string[] {
  const outcome = data as Partial<fhir4.OperationOutcome> | null;
  if (outcome?.resourceType !== 'OperationOutcome' || !Array.isArray(outcome.issue)) return [];
  return outcome.issue
    .filter((issue) => issue.severity === 'error' || issue.severity === 'fatal')
    .slice(0, MAX_ISSUES)
    .map((issue) => {
      const code = ISSUE_CODE.test(issue.code) ? issue.code : 'unknown';
      const messageId = MESSAGE_ID.exec(issue.diagnostics ?? '')?.[0];
      const where = [...(issue.expression ?? issue.location ?? [])].filter((path) => FHIR_PATH.test(path)).join(',');
      return `${code}${messageId ? ` ${messageId}` : ''}${where ? ` @ ${where}` : ''}`;
    });
}

const ISSUE_CODE = /^[a-z][a-z-]{1,30}$/;
/** A server's own message code at the start of its diagnostics: HAPI-1234, MSG_RESOURCE_ID_FAIL. */
const MESSAGE_ID = /^(?:HAPI-\d{4}|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b/;
/** An element path (Bundle.entry[1].resource.status), no values. */
const FHIR_PATH = /^[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*|\[\d+\])*$/;

/** The patient identifiers and accession numbers of a bundle: what a server may echo back. */
function sensitiveValues(bundle: fhir4.Bundle): string[] {
  const values = new Set<string>();
  for (const entry of bundle.entry ?? []) {
    const resource = entry.resource as fhir4.FhirResource | undefined;
    if (resource?.resourceType === 'Patient') {
      for (const identifier of resource.identifier ?? []) if (identifier.value) values.add(identifier.value);
    }
    if (resource?.resourceType === 'ImagingStudy') {
      for (const identifier of resource.identifier ?? []) {
        if (identifier.value && identifier.system !== 'urn:dicom:uid') values.add(identifier.value);
      }
    }
  }
  return [...values];
}

function redact(text: string, sensitive: string[]): string {
  let result = text;
  for (const value of sensitive) {
    for (const form of new Set([value, encodeURIComponent(value), value.replace(/[\\|,$]/g, (c) => `\\${c}`)])) {
      if (form) result = result.split(form).join('[redacted]');
    }
  }
  return result;
}
