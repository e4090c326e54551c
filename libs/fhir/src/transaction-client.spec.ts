import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PermanentError, TransientError } from '@app/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  classify,
  createFhirTransactionClient,
  FhirRejectedError,
  FhirUnavailableError,
  referenceOf,
} from './transaction-client.js';

const bundle: fhir4.Bundle = {
  resourceType: 'Bundle',
  type: 'transaction',
  entry: [
    {
      fullUrl: 'urn:uuid:00000000-0000-5000-8000-000000000001',
      resource: { resourceType: 'Patient', identifier: [{ system: 'urn:x', value: 'MRN-777' }] } as fhir4.Patient,
      request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=urn%3Ax%7CMRN-777' },
    },
    {
      fullUrl: 'urn:uuid:00000000-0000-5000-8000-000000000002',
      resource: {
        resourceType: 'DiagnosticReport',
        status: 'preliminary',
        code: { text: 'x' },
      } as fhir4.DiagnosticReport,
      request: { method: 'POST', url: 'DiagnosticReport' },
    },
  ],
};

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

const silent: Handler = () => {};

function answer(status: number, body: unknown): Handler {
  return (_, __, response) => {
    response.writeHead(status, { 'content-type': 'application/fhir+json' });
    response.end(JSON.stringify(body));
  };
}

describe('createFhirTransactionClient', () => {
  let server: Server;
  let handler = silent;
  let baseUrl = '';

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => handler(request, body, response));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('posts the bundle to the base URL and reads the report location', async () => {
    let seen: { method?: string; url?: string; body?: unknown } = {};
    handler = (request, body, response) => {
      seen = { method: request.method, url: request.url, body: JSON.parse(body) };
      answer(200, {
        resourceType: 'Bundle',
        type: 'transaction-response',
        entry: [
          { response: { status: '200 OK', location: 'Patient/7/_history/1' } },
          { response: { status: '201 Created', location: `${baseUrl}/DiagnosticReport/42/_history/1` } },
        ],
      })(request, body, response);
    };
    const result = await createFhirTransactionClient({ baseUrl: `${baseUrl}/` }).submit(bundle);
    expect(seen).toEqual({ method: 'POST', url: expect.stringMatching(/^\/fhir\/?$/), body: bundle });
    expect(result).toEqual({
      diagnosticReport: 'DiagnosticReport/42',
      created: true,
      entries: [
        { resourceType: 'Patient', reference: 'Patient/7', created: false },
        { resourceType: 'DiagnosticReport', reference: 'DiagnosticReport/42', created: true },
      ],
    });
  });

  it('turns a 412 into a permanent error naming the issue code and message id, never the server text', async () => {
    handler = answer(412, {
      resourceType: 'OperationOutcome',
      issue: [
        { severity: 'warning', code: 'processing', diagnostics: 'ignored' },
        {
          severity: 'error',
          code: 'processing',
          diagnostics:
            'HAPI-0958: Failed to CREATE resource with match URL "identifier=urn:x|MRN-777" because this search matched 2 resources',
          expression: ['Bundle.entry[0].request', 'identifier=urn:x|MRN-777'],
        },
      ],
    });
    const error = await createFhirTransactionClient({ baseUrl })
      .submit(bundle)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FhirRejectedError);
    expect(error).toBeInstanceOf(PermanentError);
    const rejected = error as FhirRejectedError;
    expect(rejected.status).toBe(412);
    expect(rejected.message).toBe(
      'FHIR server rejected the transaction with HTTP 412: processing HAPI-0958 @ Bundle.entry[0].request',
    );
    expect(rejected.message).not.toContain('MRN-777');
    expect(rejected.message).not.toContain('ignored');
    expect(rejected.diagnostics).toHaveLength(1);
    expect(JSON.stringify(rejected)).not.toContain('MRN-777');
  });

  it.each([429, 500, 503])('turns HTTP %i into a transient error', async (status) => {
    handler = answer(status, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient' }] });
    const error = await createFhirTransactionClient({ baseUrl })
      .submit(bundle)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FhirUnavailableError);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as FhirUnavailableError).status).toBe(status);
  });

  it('times out as a transient error', async () => {
    handler = silent; // never answers
    const error = await createFhirTransactionClient({ baseUrl, timeoutMs: 200 })
      .submit(bundle)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FhirUnavailableError);
    expect((error as Error).message).toBe('FHIR server unreachable: timed out');
  });

  it('refuses an answer that does not describe every entry', async () => {
    handler = answer(200, { resourceType: 'Bundle', type: 'transaction-response', entry: [] });
    await expect(createFhirTransactionClient({ baseUrl }).submit(bundle)).rejects.toThrow(/unexpected body/);
  });

  it('refuses a bundle that is not a transaction', async () => {
    await expect(createFhirTransactionClient({ baseUrl }).submit({ ...bundle, type: 'batch' })).rejects.toThrow(
      PermanentError,
    );
  });
});

describe('classify', () => {
  it('treats a failed fetch as transient, naming the socket error', () => {
    const error = classify(
      new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) }),
    );
    expect(error).toBeInstanceOf(FhirUnavailableError);
    expect(error.message).toBe('FHIR server unreachable: ECONNREFUSED');
  });

  it('treats a 400 without an OperationOutcome as permanent', () => {
    const error = classify({ response: { status: 400, data: 'bad' } });
    expect(error).toBeInstanceOf(FhirRejectedError);
    expect(error.message).toBe('FHIR server rejected the transaction with HTTP 400');
  });
});

describe('referenceOf', () => {
  it.each([
    ['DiagnosticReport/123/_history/1', 'DiagnosticReport/123'],
    ['http://h/fhir/Observation/abc-1/_history/2', 'Observation/abc-1'],
    ['Patient/9', 'Patient/9'],
    ['nonsense', undefined],
  ])('%s → %s', (location, expected) => {
    expect(referenceOf(location)).toBe(expected);
  });
});
