/**
 * Code systems and coded concepts of the triage report. Where a standard code exists it is
 * used (see docs/fhir.md for the provenance of each); the gaps live in our local CodeSystem,
 * published as libs/fhir/codesystem/covid-triage.codesystem.json.
 */

export const Systems = {
  loinc: 'http://loinc.org',
  snomed: 'http://snomed.info/sct',
  ucum: 'http://unitsofmeasure.org',
  dcm: 'http://dicom.nema.org/resources/ontology/DCM',
  v2_0074: 'http://terminology.hl7.org/CodeSystem/v2-0074',
  v2_0203: 'http://terminology.hl7.org/CodeSystem/v2-0203',
  observationCategory: 'http://terminology.hl7.org/CodeSystem/observation-category',
  provenanceParticipantType: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type',
  dataOperation: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation',
  /** Identifier system of DICOM UIDs; the value is `urn:oid:<uid>`. */
  dicomUid: 'urn:dicom:uid',
  /** Our local CodeSystem (canonical URL of libs/fhir/codesystem/covid-triage.codesystem.json). */
  covidTriage: 'https://covid-ct-triage.example.org/fhir/CodeSystem/covid-triage',
} as const;

/** The id under which the local CodeSystem is stored on a FHIR server (PUT CodeSystem/<id>). */
export const COVID_TRIAGE_CODESYSTEM_ID = 'covid-triage';

/** Codes of the local CodeSystem; the JSON resource must define each of them (a unit test checks). */
export const LocalCodes = {
  lungPercentAffected: 'lung-percent-affected',
  lungLesionVolume: 'lung-lesion-volume',
  severity: 'severity',
  triagePriority: 'triage-priority',
  srInstance: 'sr-instance',
  srSeries: 'sr-series',
  segInstance: 'seg-instance',
  segSeries: 'seg-series',
} as const;

export type LocalCode = (typeof LocalCodes)[keyof typeof LocalCodes];

export function coding(system: string, code: string, display: string): fhir4.Coding {
  return { system, code, display };
}

export const Concepts = {
  radiology: coding(Systems.v2_0074, 'RAD', 'Radiology'),
  ctChest: coding(Systems.loinc, '24627-2', 'CT Chest'),
  imaging: coding(Systems.observationCategory, 'imaging', 'Imaging'),
  probability: coding(Systems.dcm, '122157', 'Probability'),
  volume: coding(Systems.snomed, '118565006', 'Volume'),
  lung: coding(Systems.snomed, '39607008', 'Lung structure'),
  leftLung: coding(Systems.snomed, '44029006', 'Left lung structure'),
  rightLung: coding(Systems.snomed, '3341006', 'Right lung structure'),
  covid19: coding(Systems.snomed, '840539006', 'COVID-19'),
  suspectedCovid19: coding(Systems.snomed, '840544004', 'Suspected COVID-19'),
  negative: coding(Systems.snomed, '260385009', 'Negative'),
  ctModality: coding(Systems.dcm, 'CT', 'Computed Tomography'),
  accessionNumber: coding(Systems.v2_0203, 'ACSN', 'Accession ID'),
  performer: coding(Systems.provenanceParticipantType, 'performer', 'Performer'),
  create: coding(Systems.dataOperation, 'CREATE', 'create'),
  lungPercentAffected: coding(
    Systems.covidTriage,
    LocalCodes.lungPercentAffected,
    'Percent of lung volume affected by COVID-19-compatible lesions',
  ),
  lungLesionVolume: coding(
    Systems.covidTriage,
    LocalCodes.lungLesionVolume,
    'Volume of COVID-19-compatible lesions in lung',
  ),
  severity: coding(
    Systems.covidTriage,
    LocalCodes.severity,
    'COVID-19 CT severity (largest percent affected of the two lungs)',
  ),
  srInstance: coding(Systems.covidTriage, LocalCodes.srInstance, 'DICOM SR SOP Instance UID'),
  srSeries: coding(Systems.covidTriage, LocalCodes.srSeries, 'DICOM SR Series Instance UID'),
  segInstance: coding(Systems.covidTriage, LocalCodes.segInstance, 'DICOM SEG SOP Instance UID'),
  segSeries: coding(Systems.covidTriage, LocalCodes.segSeries, 'DICOM SEG Series Instance UID'),
} as const satisfies Record<string, fhir4.Coding>;

export const Units = {
  percent: { unit: '%', system: Systems.ucum, code: '%' },
  millilitre: { unit: 'mL', system: Systems.ucum, code: 'mL' },
} as const;
