import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { PermanentError, TransientError } from '@app/errors';
import {
  buildTriageBundle,
  COVID_TRIAGE_CODESYSTEM_ID,
  createFhirTransactionClient,
  FhirRejectedError,
  FhirUnavailableError,
  type TriageBundleInput,
} from '@app/fhir';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertReachable, stack } from '../support/stack.js';

/**
 * The triage report on the real HAPI FHIR JPA R4 server of the local stack (`npm run stack:up`):
 * it validates, a re-send stores nothing twice, and failures have the right kind.
 */
const H = { 'Content-Type': 'application/fhir+json', Accept: 'application/fhir+json' };
const BASE = 'https://covid-ct-triage.example.org/fhir/identifier';

function randomUid(): string {
  // 2.25.<128-bit integer>: a UID that needs no registered root.
  return `2.25.${BigInt(`0x${crypto.randomUUID().replace(/-/g, '')}`).toString()}`;
}

function sampleInput(): TriageBundleInput {
  return {
    study: { studyInstanceUid: randomUid(), seriesInstanceUid: randomUid(), accessionNumber: 'ACC 1,2' },
    // Characters a conditional URL must escape and encode.
    patient: { value: `it-${crypto.randomUUID()} a&b|c,d$`, issuer: 'TEST_ISSUER' },
    measurements: {
      // A version of its own, so that each test starts without a Device on the (shared) server.
      model: {
        id: 'covid-triage-multitask-demo',
        name: 'COVID-19 CT triage, demonstration weights',
        version: `0.1.0-it.${crypto.randomUUID().slice(0, 8)}`,
      },
      covidProbability: 0.91,
      severityPercent: 31.2,
      lungs: [
        { region: 'left', lungVolumeMl: 2300, lesionVolumeMl: 717.6, percentAffected: 31.2 },
        { region: 'right', lungVolumeMl: 2600, lesionVolumeMl: 520, percentAffected: 20 },
        { region: 'both', lungVolumeMl: 4900, lesionVolumeMl: 1237.6, percentAffected: 25.26 },
      ],
    },
    seg: { sopInstanceUid: randomUid(), seriesInstanceUid: randomUid() },
    sr: { sopInstanceUid: randomUid(), seriesInstanceUid: randomUid() },
    timestamp: new Date(),
    identifierSystem: BASE,
  };
}

async function fhir(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${stack.fhirBaseUrl}/${path}`, {
    method,
    headers: H,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(60_000),
  });
  return { status: response.status, json: await response.json() };
}

function issues(outcome: fhir4.OperationOutcome, ...severities: string[]): string[] {
  return outcome.issue
    .filter((issue) => severities.includes(issue.severity))
    .map((issue) => `${issue.diagnostics ?? ''} @ ${issue.expression?.join(',') ?? issue.location?.join(',') ?? ''}`);
}

async function count(resourceType: string, identifier: fhir4.Identifier): Promise<number> {
  const query = encodeURIComponent(`${identifier.system}|${identifier.value!.replace(/[\\|,$]/g, (c) => `\\${c}`)}`);
  const { status, json } = await fhir('GET', `${resourceType}?identifier=${query}&_summary=count`);
  expect(status).toBe(200);
  return (json as fhir4.Bundle).total!;
}

describe('FHIR triage report on HAPI FHIR R4 (real server)', () => {
  const writer = createFhirTransactionClient({ baseUrl: stack.fhirBaseUrl, timeoutMs: 60_000 });

  beforeAll(async () => {
    await assertReachable('HAPI FHIR', `${stack.fhirBaseUrl}/metadata`);
    const codeSystem = JSON.parse(
      readFileSync(new URL('../../libs/fhir/codesystem/covid-triage.codesystem.json', import.meta.url), 'utf8'),
    ) as fhir4.CodeSystem;
    if (codeSystem.id !== COVID_TRIAGE_CODESYSTEM_ID) throw new Error(`CodeSystem id is ${codeSystem.id}`);
    // Upload (or update) our local CodeSystem first, so that the validator knows its codes.
    const { status } = await fhir('PUT', `CodeSystem/${COVID_TRIAGE_CODESYSTEM_ID}`, codeSystem);
    if (status !== 200 && status !== 201) throw new Error(`PUT CodeSystem answered HTTP ${status}`);
  });

  it('$validate finds no error in the Bundle or in any of its resources', async () => {
    const bundle = buildTriageBundle(sampleInput());
    const outcomes: [string, fhir4.OperationOutcome][] = [];
    const bundleResult = await fhir('POST', 'Bundle/$validate', bundle);
    outcomes.push(['Bundle', bundleResult.json as fhir4.OperationOutcome]);
    for (const entry of bundle.entry!) {
      const type = entry.resource!.resourceType;
      const { json } = await fhir('POST', `${type}/$validate`, entry.resource);
      outcomes.push([type, json as fhir4.OperationOutcome]);
    }
    const warnings = outcomes.flatMap(([type, o]) => issues(o, 'warning').map((w) => `${type}: ${w}`));
    if (warnings.length) console.warn(`$validate warnings:\n  ${[...new Set(warnings)].join('\n  ')}`);
    expect(
      outcomes.map(([type, o]) => ({ type, resourceType: o.resourceType, errors: issues(o, 'error', 'fatal') })),
    ).toEqual(outcomes.map(([type]) => ({ type, resourceType: 'OperationOutcome', errors: [] })));
  });

  it('stores each resource once however often the bundle is sent', async () => {
    const input = sampleInput();
    const bundle = buildTriageBundle(input);
    const first = await writer.submit(bundle);
    expect(first.created).toBe(true);
    expect(first.diagnosticReport).toMatch(/^DiagnosticReport\/[A-Za-z0-9.-]+$/);
    expect(first.entries.every((e) => e.created)).toBe(true);

    const second = await writer.submit(buildTriageBundle({ ...input, timestamp: new Date(Date.now() + 60_000) }));
    expect(second.created).toBe(false);
    expect(second.diagnosticReport).toBe(first.diagnosticReport);
    expect(second.entries.map((e) => e.reference)).toEqual(first.entries.map((e) => e.reference));
    expect(second.entries.some((e) => e.created)).toBe(false);

    for (const entry of bundle.entry!) {
      const resource = entry.resource as fhir4.FhirResource & { identifier?: fhir4.Identifier[] };
      if (!resource.identifier) continue; // Provenance: counted below
      expect({ [resource.resourceType]: await count(resource.resourceType, resource.identifier[0]) }).toEqual({
        [resource.resourceType]: 1,
      });
    }
    const report = (bundle.entry!.find((e) => e.resource!.resourceType === 'DiagnosticReport')!.resource ??
      {}) as fhir4.DiagnosticReport;
    const key = report.identifier![0];
    const provenance = await fhir(
      'GET',
      `Provenance?target:DiagnosticReport.identifier=${encodeURIComponent(`${key.system}|${key.value}`)}&_summary=count`,
    );
    expect((provenance.json as fhir4.Bundle).total).toBe(1);
    // Searchable by the SR's SOP Instance UID too.
    expect(
      await count('DiagnosticReport', { system: 'urn:dicom:uid', value: `urn:oid:${input.sr.sopInstanceUid}` }),
    ).toBe(1);
  });

  it('reads the stored report back with its results resolvable', async () => {
    const input = sampleInput();
    const { diagnosticReport } = await writer.submit(buildTriageBundle(input));
    const id = diagnosticReport.split('/')[1];
    const { status, json } = await fhir('GET', `DiagnosticReport?_id=${id}&_include=DiagnosticReport:result`);
    expect(status).toBe(200);
    const found = (json as fhir4.Bundle<fhir4.FhirResource>).entry!.map((e) => e.resource!);
    const report = found.find((r) => r.resourceType === 'DiagnosticReport') as fhir4.DiagnosticReport;
    const observations = found.filter((r): r is fhir4.Observation => r.resourceType === 'Observation');
    expect(report.status).toBe('preliminary');
    expect(report.result).toHaveLength(11);
    expect(observations).toHaveLength(11);
    expect(new Set(observations.map((o) => `Observation/${o.id}`))).toEqual(
      new Set(report.result!.map((r) => r.reference)),
    );
    expect(report.subject!.reference).toMatch(/^Patient\//);
    expect(report.imagingStudy![0].reference).toMatch(/^ImagingStudy\//);
    expect(report.conclusion).toMatch(/not for clinical use/);
    const probability = observations.find((o) => o.code.coding![0].code === '122157')!;
    expect(probability.valueQuantity).toMatchObject({ value: 91, code: '%' });
    expect(probability.device!.reference).toMatch(/^Device\//);
  });

  it('finds an existing ImagingStudy and Patient instead of creating them', async () => {
    const input = sampleInput();
    const first = await writer.submit(buildTriageBundle(input));
    // A second model version on the same study: a new report, the same study and patient.
    const next = buildTriageBundle({
      ...input,
      measurements: {
        ...input.measurements,
        model: { ...input.measurements.model, version: `${input.measurements.model.version}.next` },
      },
    });
    const second = await writer.submit(next);
    expect(second.created).toBe(true);
    expect(second.diagnosticReport).not.toBe(first.diagnosticReport);
    const pick = (r: typeof first, type: string) => r.entries.find((e) => e.resourceType === type)!;
    for (const type of ['Patient', 'ImagingStudy']) {
      expect(pick(second, type).reference).toBe(pick(first, type).reference);
      expect(pick(second, type).created).toBe(false);
    }
    expect(pick(second, 'Device').reference).not.toBe(pick(first, 'Device').reference);
  });

  it('gives a transient error when the server cannot be reached', async () => {
    const port = await closedPort();
    const error = await createFhirTransactionClient({ baseUrl: `http://127.0.0.1:${port}/fhir` })
      .submit(buildTriageBundle(sampleInput()))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toBeInstanceOf(FhirUnavailableError);
    expect((error as Error).message).toBe('FHIR server unreachable: ECONNREFUSED');
  });

  it('gives a permanent error, without the patient identifier, when HAPI refuses a resource', async () => {
    const input = sampleInput();
    const bundle = buildTriageBundle(input);
    const report = bundle.entry!.find((e) => e.resource!.resourceType === 'DiagnosticReport')!
      .resource as fhir4.DiagnosticReport;
    (report as { status: string }).status = 'bogus';
    const error = await writer.submit(bundle).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toBeInstanceOf(FhirRejectedError);
    const rejected = error as FhirRejectedError;
    expect(rejected.status).toBeGreaterThanOrEqual(400);
    expect(rejected.status).toBeLessThan(500);
    // A code and HAPI's message id, never its text (which quotes the value sent).
    expect(rejected.message).toMatch(/HTTP 4\d\d: [a-z-]+ HAPI-\d{4}/);
    expect(rejected.message).not.toMatch(/bogus/);
    expect(rejected.message).not.toContain(input.patient.value);
    // The transaction is atomic: nothing of it was stored.
    expect(await count('DiagnosticReport', report.identifier![0])).toBe(0);
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
