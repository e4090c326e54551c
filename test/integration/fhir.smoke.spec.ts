import { Client } from 'fhir-kit-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertReachable, stack } from '../support/stack.js';

/** Smoke test of the real HAPI FHIR JPA R4 server started by `npm run stack:up`. */
describe('HAPI FHIR R4 (real server)', () => {
  const client = new Client({ baseUrl: stack.fhirBaseUrl });

  beforeAll(async () => {
    await assertReachable('HAPI FHIR', `${stack.fhirBaseUrl}/metadata`);
  });

  it('creates and reads back a resource', async () => {
    const identifier = { system: 'urn:covid-triage:smoke', value: crypto.randomUUID() };
    const created = (await client.create({
      resourceType: 'Patient',
      body: { resourceType: 'Patient', identifier: [identifier], gender: 'other' },
    })) as fhir4.Patient;
    expect(created.id).toBeTruthy();
    const read = (await client.read({ resourceType: 'Patient', id: created.id! })) as fhir4.Patient;
    expect(read.identifier).toEqual([identifier]);
    expect(read.meta?.versionId).toBe('1');
  });

  it('$validate accepts a well-formed DiagnosticReport', async () => {
    const outcome = await validate({
      resourceType: 'DiagnosticReport',
      status: 'preliminary',
      category: [
        { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'RAD', display: 'Radiology' }] },
      ],
      code: { coding: [{ system: 'http://loinc.org', code: '24627-2', display: 'CT Chest' }] },
      conclusion: 'Smoke test, not a clinical result.',
    });
    expect(errors(outcome)).toEqual([]);
  });

  it('$validate reports a missing required element', async () => {
    const messages = errors(await validate({ resourceType: 'DiagnosticReport', status: 'final' })).join('\n');
    // `code` is 1..1.
    expect(messages).toMatch(/DiagnosticReport\.code/);
  });

  it('$validate reports a value outside a required code list', async () => {
    const messages = errors(
      await validate({ resourceType: 'DiagnosticReport', status: 'bogus', code: { text: 'CT chest' } }),
    ).join('\n');
    expect(messages).toMatch(/bogus/);
  });
});

async function validate(resource: Record<string, unknown>): Promise<fhir4.OperationOutcome> {
  const response = await fetch(`${stack.fhirBaseUrl}/${String(resource['resourceType'])}/$validate`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/fhir+json', Accept: 'application/fhir+json' },
    body: JSON.stringify(resource),
  });
  // HAPI answers 200 when valid, 412 when invalid, and 400 when the JSON cannot even be
  // parsed into the resource (an unknown code of a required enum); each with an OperationOutcome.
  expect([200, 400, 412]).toContain(response.status);
  const outcome = (await response.json()) as fhir4.OperationOutcome;
  expect(outcome.resourceType).toBe('OperationOutcome');
  return outcome;
}

function errors(outcome: fhir4.OperationOutcome): string[] {
  return outcome.issue
    .filter((issue) => issue.severity === 'error' || issue.severity === 'fatal')
    .map((issue) => `${issue.diagnostics ?? ''} @ ${issue.expression?.join(',') ?? issue.location?.join(',') ?? ''}`);
}
