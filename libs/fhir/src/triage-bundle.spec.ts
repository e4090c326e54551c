import { readFileSync } from 'node:fs';
import type { TriageMeasurements } from '@app/triage-contracts';
import { describe, expect, it } from 'vitest';
import { LocalCodes, Systems } from './codes.js';
import { uuidV5 } from './identifiers.js';
import { buildTriageBundle, NOT_FOR_CLINICAL_USE, type TriageBundleInput } from './triage-bundle.js';

const measurements: TriageMeasurements = {
  model: { id: 'covid-triage-multitask-demo', name: 'COVID-19 CT triage, demonstration weights', version: '0.1.0' },
  covidProbability: 0.8734,
  severityPercent: 23.456,
  lungs: [
    { region: 'left', lungVolumeMl: 2400.04, lesionVolumeMl: 562.96, percentAffected: 23.456 },
    { region: 'right', lungVolumeMl: 2700, lesionVolumeMl: 270, percentAffected: 10 },
    { region: 'both', lungVolumeMl: 5100.04, lesionVolumeMl: 832.96, percentAffected: 16.33 },
  ],
};

const input: TriageBundleInput = {
  study: {
    studyInstanceUid: '1.2.826.0.1.3680043.8.498.1',
    seriesInstanceUid: '1.2.826.0.1.3680043.8.498.2',
    accessionNumber: 'ACC-0001',
  },
  patient: { value: 'PID-12345', issuer: 'HOSPITAL_A' },
  measurements,
  seg: { sopInstanceUid: '1.2.826.0.1.3680043.8.498.10', seriesInstanceUid: '1.2.826.0.1.3680043.8.498.11' },
  sr: { sopInstanceUid: '1.2.826.0.1.3680043.8.498.20', seriesInstanceUid: '1.2.826.0.1.3680043.8.498.21' },
  timestamp: new Date('2024-05-06T07:08:09.123Z'),
  identifierSystem: 'https://covid-ct-triage.example.org/fhir/identifier',
};

const BASE = input.identifierSystem;
const resources = (bundle: fhir4.Bundle) => (bundle.entry ?? []).map((e) => e.resource as fhir4.FhirResource);
const ofType = <T extends fhir4.FhirResource['resourceType']>(bundle: fhir4.Bundle, type: T) =>
  resources(bundle).filter((r) => r.resourceType === type) as Extract<fhir4.FhirResource, { resourceType: T }>[];
const observationNamed = (bundle: fhir4.Bundle, name: string) =>
  ofType(bundle, 'Observation').find((o) => o.identifier![0].value!.endsWith(`/${name}`))!;

describe('buildTriageBundle', () => {
  const bundle = buildTriageBundle(input);

  it('is a transaction of conditional creates with urn:uuid fullUrls', () => {
    expect(bundle.resourceType).toBe('Bundle');
    expect(bundle.type).toBe('transaction');
    expect(resources(bundle).map((r) => r.resourceType)).toEqual([
      'Patient',
      'ImagingStudy',
      'Device',
      ...Array<string>(11).fill('Observation'),
      'DiagnosticReport',
      'Provenance',
    ]);
    for (const entry of bundle.entry!) {
      expect(entry.fullUrl).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(entry.request?.method).toBe('POST');
      expect(entry.request?.url).toBe(entry.resource!.resourceType);
      expect(entry.request?.ifNoneExist).toBeTruthy();
    }
    expect(new Set(bundle.entry!.map((e) => e.fullUrl)).size).toBe(bundle.entry!.length);
  });

  it('is reproducible: the same input gives the same bundle', () => {
    expect(buildTriageBundle({ ...input, timestamp: '2024-05-06T07:08:09.123Z' })).toEqual(bundle);
  });

  it('keys every conditional create on the resource identifier', () => {
    for (const entry of bundle.entry!.filter((e) => e.resource!.resourceType !== 'Provenance')) {
      const identifier = (entry.resource as unknown as { identifier: fhir4.Identifier[] }).identifier.find(
        (i) => i.use !== 'secondary' && !i.type,
      )!;
      expect(decodeURIComponent(entry.request!.ifNoneExist!)).toBe(
        `identifier=${identifier.system}|${identifier.value}`,
      );
    }
    const provenance = bundle.entry!.at(-1)!;
    expect(decodeURIComponent(provenance.request!.ifNoneExist!)).toBe(
      `Provenance?target:DiagnosticReport.identifier=${BASE}/triage-report|1.2.826.0.1.3680043.8.498.1/covid-triage-multitask-demo/0.1.0`,
    );
  });

  it('derives fullUrls and identifiers from the study and the model version only', () => {
    const other = buildTriageBundle({
      ...input,
      measurements: { ...measurements, covidProbability: 0.1 },
      timestamp: new Date('2025-01-01T00:00:00Z'),
    });
    expect(other.entry!.map((e) => e.fullUrl)).toEqual(bundle.entry!.map((e) => e.fullUrl));
    const nextVersion = buildTriageBundle({
      ...input,
      measurements: { ...measurements, model: { ...measurements.model, version: '0.2.0' } },
    });
    const changed = nextVersion.entry!.filter((e, i) => e.fullUrl !== bundle.entry![i].fullUrl);
    // Patient and ImagingStudy stay; the Device, Observations, report and Provenance are new.
    expect(changed).toHaveLength(bundle.entry!.length - 2);
    const report = ofType(bundle, 'DiagnosticReport')[0];
    const key = report.identifier![0];
    expect(key).toEqual({
      use: 'official',
      system: `${BASE}/triage-report`,
      value: '1.2.826.0.1.3680043.8.498.1/covid-triage-multitask-demo/0.1.0',
    });
    expect(bundle.entry!.find((e) => e.resource === report)!.fullUrl).toBe(
      `urn:uuid:${uuidV5(`DiagnosticReport|${key.system}|${key.value}`)}`,
    );
  });

  it('builds a preliminary RAD report: LOINC 24627-2, results, imaging study, conclusion', () => {
    const report = ofType(bundle, 'DiagnosticReport')[0];
    const urlOf = (type: string) => bundle.entry!.find((e) => e.resource!.resourceType === type)!.fullUrl;
    expect(report.status).toBe('preliminary');
    expect(report.category![0].coding).toEqual([{ system: Systems.v2_0074, code: 'RAD', display: 'Radiology' }]);
    expect(report.code.coding).toEqual([{ system: 'http://loinc.org', code: '24627-2', display: 'CT Chest' }]);
    expect(report.subject).toEqual({ reference: urlOf('Patient') });
    expect(report.imagingStudy).toEqual([{ reference: urlOf('ImagingStudy') }]);
    expect(report.result).toEqual(
      bundle.entry!.filter((e) => e.resource!.resourceType === 'Observation').map((e) => ({ reference: e.fullUrl })),
    );
    expect(report.issued).toBe('2024-05-06T07:08:09.123Z');
    expect(report.conclusion).toContain(NOT_FOR_CLINICAL_USE);
    expect(report.conclusion).toContain('87.3%');
    expect(report.conclusionCode).toEqual([
      { coding: [{ system: Systems.snomed, code: '840544004', display: 'Suspected COVID-19' }] },
    ]);
  });

  it('records the SEG and SR UIDs as typed urn:dicom:uid identifiers', () => {
    const report = ofType(bundle, 'DiagnosticReport')[0];
    const byType = Object.fromEntries(report.identifier!.slice(1).map((i) => [i.type!.coding![0].code, i]));
    expect(Object.keys(byType)).toEqual(['sr-instance', 'sr-series', 'seg-instance', 'seg-series']);
    expect(byType['seg-instance']).toMatchObject({
      use: 'secondary',
      system: 'urn:dicom:uid',
      value: 'urn:oid:1.2.826.0.1.3680043.8.498.10',
    });
    expect(byType['sr-instance']!.value).toBe('urn:oid:1.2.826.0.1.3680043.8.498.20');
  });

  it('concludes negative below the threshold and never asserts confirmed COVID-19', () => {
    const low = buildTriageBundle({ ...input, measurements: { ...measurements, covidProbability: 0.49 } });
    expect(ofType(low, 'DiagnosticReport')[0].conclusionCode![0].coding![0].code).toBe('260385009');
    const atThreshold = buildTriageBundle({ ...input, conclusionThreshold: 0.9 });
    expect(ofType(atThreshold, 'DiagnosticReport')[0].conclusionCode![0].coding![0].code).toBe('260385009');
    const certain = buildTriageBundle({ ...input, measurements: { ...measurements, covidProbability: 1 } });
    expect(JSON.stringify(certain)).not.toContain('840539006');
  });

  it('writes the measurements as Observations with UCUM units and lung body sites', () => {
    const observations = ofType(bundle, 'Observation');
    expect(observations).toHaveLength(11);
    for (const o of observations) {
      expect(o.status).toBe('preliminary');
      expect(o.category![0].coding![0]).toMatchObject({ code: 'imaging' });
      expect(o.valueQuantity!.system).toBe('http://unitsofmeasure.org');
      expect(o.valueQuantity!.code).toBe(o.valueQuantity!.unit);
      expect(o.device!.reference).toBe(bundle.entry![2].fullUrl);
      expect(o.derivedFrom).toEqual([{ reference: bundle.entry![1].fullUrl }]);
      expect(o.effectiveDateTime).toBe('2024-05-06T07:08:09.123Z');
    }
    const probability = observationNamed(bundle, 'covid-probability');
    expect(probability.code.coding).toEqual([{ system: Systems.dcm, code: '122157', display: 'Probability' }]);
    expect(probability.valueQuantity).toEqual({ value: 87.34, unit: '%', system: Systems.ucum, code: '%' });
    expect(observationNamed(bundle, 'severity').code.coding![0]).toMatchObject({ code: LocalCodes.severity });

    const left = observationNamed(bundle, 'lung-percent-affected/left');
    expect(left.code.coding![0]).toMatchObject({ system: Systems.covidTriage, code: 'lung-percent-affected' });
    expect(left.bodySite!.coding).toEqual([
      { system: Systems.snomed, code: '44029006', display: 'Left lung structure' },
    ]);
    expect(left.valueQuantity!.value).toBe(23.46);
    const right = observationNamed(bundle, 'lung-lesion-volume/right');
    expect(right.bodySite!.coding![0].code).toBe('3341006');
    expect(right.valueQuantity).toMatchObject({ value: 270, unit: 'mL', code: 'mL' });
    const both = observationNamed(bundle, 'lung-volume/both');
    expect(both.code.coding![0]).toMatchObject({ system: Systems.snomed, code: '118565006' });
    expect(both.bodySite!.coding![0].code).toBe('39607008');
    expect(both.valueQuantity!.value).toBe(5100);
  });

  it('identifies the model Device by id and version', () => {
    const device = ofType(bundle, 'Device')[0];
    expect(device.identifier).toEqual([{ system: `${BASE}/model`, value: 'covid-triage-multitask-demo/0.1.0' }]);
    expect(device.version).toEqual([{ value: '0.1.0' }]);
    expect(device.deviceName![0]).toEqual({ name: measurements.model.name, type: 'model-name' });
  });

  it('creates a minimal ImagingStudy found by its StudyInstanceUID', () => {
    const study = ofType(bundle, 'ImagingStudy')[0];
    expect(study.identifier![0]).toEqual({ system: 'urn:dicom:uid', value: 'urn:oid:1.2.826.0.1.3680043.8.498.1' });
    expect(study.identifier![1]).toMatchObject({ value: 'ACC-0001', type: { coding: [{ code: 'ACSN' }] } });
    expect(study.status).toBe('available');
    expect(study.series).toEqual([
      {
        uid: '1.2.826.0.1.3680043.8.498.2',
        modality: { system: Systems.dcm, code: 'CT', display: 'Computed Tomography' },
      },
    ]);
  });

  it('attributes the report and observations to the Device in a Provenance', () => {
    const provenance = ofType(bundle, 'Provenance')[0];
    const targets = bundle.entry!.filter((e) => ['DiagnosticReport', 'Observation'].includes(e.resource!.resourceType));
    expect(new Set(provenance.target.map((t) => t.reference))).toEqual(new Set(targets.map((e) => e.fullUrl)));
    expect(provenance.agent[0].who).toEqual({ reference: bundle.entry![2].fullUrl });
    expect(provenance.recorded).toBe('2024-05-06T07:08:09.123Z');
  });

  it('gives the Patient only an identifier, from PatientID and IssuerOfPatientID', () => {
    const patient = ofType(bundle, 'Patient')[0];
    expect(patient).toEqual({
      resourceType: 'Patient',
      identifier: [{ system: `${BASE}/dicom-patient-id/HOSPITAL_A`, value: 'PID-12345' }],
    });
    const uri = buildTriageBundle({ ...input, patient: { value: 'X', issuer: 'urn:oid:1.2.3' } });
    expect(ofType(uri, 'Patient')[0].identifier).toEqual([{ system: 'urn:oid:1.2.3', value: 'X' }]);
    const explicit = buildTriageBundle({ ...input, patient: { value: 'X', system: 'http://ehr.example/mrn' } });
    expect(ofType(explicit, 'Patient')[0].identifier![0].system).toBe('http://ehr.example/mrn');
    const bare = buildTriageBundle({ ...input, patient: { value: 'X' } });
    expect(ofType(bare, 'Patient')[0].identifier![0].system).toBe(`${BASE}/dicom-patient-id`);
  });

  it('keeps the patient identifier out of every other resource', () => {
    const json = JSON.stringify(bundle);
    expect(json.split('PID-12345')).toHaveLength(3); // Patient.identifier and its ifNoneExist
    expect(json).not.toMatch(/"name"\s*:\s*\[/); // no HumanName anywhere
    for (const resource of resources(bundle).filter((r) => r.resourceType !== 'Patient')) {
      expect(JSON.stringify(resource)).not.toContain('PID-12345');
    }
  });

  it('escapes and URL-encodes identifier values in conditional URLs', () => {
    const odd = buildTriageBundle({ ...input, patient: { value: 'A|B, C&D$' } });
    const query = odd.entry![0].request!.ifNoneExist!;
    expect(query).not.toMatch(/[&\s]/);
    expect(decodeURIComponent(query)).toBe(`identifier=${BASE}/dicom-patient-id|A\\|B\\, C&D\\$`);
  });

  it('refuses inconsistent input without echoing patient data', () => {
    const bad = { ...input, study: { ...input.study, studyInstanceUid: '1.02.x' } };
    expect(() => buildTriageBundle(bad)).toThrow(/study.studyInstanceUid is not a DICOM UID/);
    const noRight = { ...measurements, lungs: measurements.lungs.filter((l) => l.region !== 'right') };
    expect(() => buildTriageBundle({ ...input, measurements: noRight })).toThrow(/exactly one 'right'/);
    expect(() => buildTriageBundle({ ...input, measurements: { ...measurements, covidProbability: 1.5 } })).toThrow(
      /covidProbability/,
    );
    expect(() => buildTriageBundle({ ...input, patient: { value: ' ' } })).toThrow(/patient.value is empty/);
    expect(() =>
      buildTriageBundle({ ...input, measurements: { ...measurements, model: { ...measurements.model, id: 'a|b' } } }),
    ).toThrow(/model.id/);
    expect(() => buildTriageBundle({ ...input, study: { ...input.study, studyDateTime: '2024-05-06T07:08' } })).toThrow(
      /studyDateTime/,
    );
  });

  it('uses only codes that the local CodeSystem defines', () => {
    const codeSystem = JSON.parse(
      readFileSync(new URL('../codesystem/covid-triage.codesystem.json', import.meta.url), 'utf8'),
    ) as fhir4.CodeSystem;
    expect(codeSystem).toMatchObject({ url: Systems.covidTriage, status: 'draft', content: 'complete' });
    const defined = codeSystem.concept!.map((c) => c.code);
    expect(codeSystem.count).toBe(defined.length);
    expect(new Set(defined)).toEqual(new Set(Object.values(LocalCodes)));
    const used = JSON.stringify(bundle).match(
      new RegExp(`"system":"${Systems.covidTriage.replace(/[./]/g, '\\$&')}","code":"([^"]+)"`, 'g'),
    )!;
    expect(used.length).toBeGreaterThan(0);
    for (const match of used) expect(defined).toContain(/"code":"([^"]+)"/.exec(match)![1]);
  });
});
