import { isDicomUid, type DicomObjectRef } from '@app/dicom';
import { PermanentError } from '@app/errors';
import { LUNG_REGIONS, type LungRegion, type TriageMeasurements } from '@app/triage-contracts';
import { Concepts, Units } from './codes.js';
import { dicomUidIdentifier, fullUrlFor, identifierQuery, triageReportIdentifier } from './identifiers.js';

/**
 * The transaction Bundle that reports one triage result to a FHIR R4 server. Every entry is
 * a conditional create on a deterministic identifier, so sending the same bundle twice (a
 * retry, a redelivered event) stores each resource once. See docs/fhir.md.
 */

export interface TriageBundleInput {
  study: {
    studyInstanceUid: string;
    /** The analysed CT series. */
    seriesInstanceUid: string;
    /** AccessionNumber (0008,0050), when the study has one. */
    accessionNumber?: string;
    /** Study date and time, when known (ISO 8601): the Observations' effective time. Defaults to `timestamp`. */
    studyDateTime?: string;
  };
  /** PatientID (0010,0020) and IssuerOfPatientID (0010,0021). Never names or other demographics. */
  patient: {
    value: string;
    /** The identifier system, when the caller knows it (e.g. the EHR's MRN system); wins over `issuer`. */
    system?: string;
    /** IssuerOfPatientID: used as the system if it is a URI, otherwise qualifies a system of ours. */
    issuer?: string;
  };
  measurements: TriageMeasurements;
  /** The DICOM SEG and SR our service stored for this result (the report names their series and instance). */
  seg: Pick<DicomObjectRef, 'seriesInstanceUid' | 'sopInstanceUid'>;
  sr: Pick<DicomObjectRef, 'seriesInstanceUid' | 'sopInstanceUid'>;
  /** When the analysis finished: DiagnosticReport.issued and Provenance.recorded. */
  timestamp: Date | string;
  /** Our base identifier system (a URI we own), e.g. https://covid-ct-triage.example.org/fhir/identifier. */
  identifierSystem: string;
  /** The probability at or above which the conclusion is "suspected COVID-19" (default 0.5). */
  conclusionThreshold?: number;
}

export const DEFAULT_CONCLUSION_THRESHOLD = 0.5;

/** Stated in every conclusion: the output of a demonstration model. */
export const NOT_FOR_CLINICAL_USE = 'Preliminary AI result, not for clinical use.';

const FHIR_DATE_TIME = /^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))?)?)?$/;
const SAFE_TOKEN = /^[A-Za-z0-9._+-]{1,64}$/;
const REGION_NAME: Record<LungRegion, string> = { left: 'left lung', right: 'right lung', both: 'both lungs' };

type Identified = { system: string; value: string };

export function buildTriageBundle(input: TriageBundleInput): fhir4.Bundle<fhir4.FhirResource> {
  checkInput(input);
  const { study, measurements: m } = input;
  const base = input.identifierSystem.replace(/\/+$/, '');
  const issued = toInstant(input.timestamp);
  const effective = input.study.studyDateTime ?? issued;
  const reportId = triageReportIdentifier(base, study.studyInstanceUid, m.model);
  const reportKey = reportId.value;
  const modelKey = `${m.model.id}/${m.model.version}`;

  const entries: fhir4.BundleEntry<fhir4.FhirResource>[] = [];
  const add = (resource: fhir4.FhirResource, key: Identified): string => {
    const fullUrl = fullUrlFor(resource.resourceType, key);
    entries.push({
      fullUrl,
      resource,
      request: { method: 'POST', url: resource.resourceType, ifNoneExist: identifierQuery(key) },
    });
    return fullUrl;
  };

  // Patient: only its identifier. An existing Patient with that identifier is reused.
  const patientId = patientIdentifier(input.patient, base);
  const patient = add({ resourceType: 'Patient', identifier: [patientId] }, patientId);
  const subject = { reference: patient };

  // ImagingStudy: found by its StudyInstanceUID, or created minimal.
  const studyId = dicomUidIdentifier(study.studyInstanceUid);
  const imagingStudy = add(
    {
      resourceType: 'ImagingStudy',
      text: narrative(`CT study ${study.studyInstanceUid}; analysed series ${study.seriesInstanceUid}.`),
      identifier: [
        studyId,
        ...(study.accessionNumber
          ? [{ type: { coding: [Concepts.accessionNumber] }, value: study.accessionNumber }]
          : []),
      ],
      status: 'available',
      subject,
      series: [{ uid: study.seriesInstanceUid, modality: Concepts.ctModality }],
    } satisfies fhir4.ImagingStudy,
    studyId,
  );

  // Device: the model, one per id and version.
  const deviceId = { system: `${base}/model`, value: modelKey };
  const device = add(
    {
      resourceType: 'Device',
      text: narrative(`AI model ${m.model.name}, version ${m.model.version}. Not for clinical use.`),
      identifier: [deviceId],
      deviceName: [{ name: m.model.name, type: 'model-name' }],
      version: [{ value: m.model.version }],
      type: { text: 'AI model: COVID-19 chest CT triage' },
      note: [{ text: 'Demonstration model, not for clinical use.' }],
    } satisfies fhir4.Device,
    deviceId,
  );

  // Observations.
  const observations: string[] = [];
  const observation = (
    name: string,
    code: fhir4.CodeableConcept,
    value: fhir4.Quantity,
    bodySite?: fhir4.CodeableConcept,
  ): void => {
    const id = { system: `${base}/observation`, value: `${reportKey}/${name}` };
    observations.push(
      add(
        {
          resourceType: 'Observation',
          text: narrative(`${code.text}: ${value.value} ${value.unit}. ${NOT_FOR_CLINICAL_USE}`),
          identifier: [id],
          status: 'preliminary',
          category: [{ coding: [Concepts.imaging] }],
          code,
          subject,
          effectiveDateTime: effective,
          issued,
          valueQuantity: value,
          ...(bodySite ? { bodySite } : {}),
          device: { reference: device },
          derivedFrom: [{ reference: imagingStudy }],
        } satisfies fhir4.Observation,
        id,
      ),
    );
  };

  observation(
    'covid-probability',
    { coding: [Concepts.probability], text: 'Probability of COVID-19' },
    { value: round(m.covidProbability * 100, 2), ...Units.percent },
  );
  observation(
    'severity',
    { coding: [Concepts.severity], text: 'COVID-19 CT severity' },
    { value: round(m.severityPercent, 2), ...Units.percent },
    lungSite('both'),
  );
  for (const region of LUNG_REGIONS) {
    const lung = m.lungs.find((l) => l.region === region)!;
    const where = REGION_NAME[region];
    observation(
      `lung-percent-affected/${region}`,
      { coding: [Concepts.lungPercentAffected], text: `Percent of ${where} affected` },
      { value: round(lung.percentAffected, 2), ...Units.percent },
      lungSite(region),
    );
    observation(
      `lung-lesion-volume/${region}`,
      { coding: [Concepts.lungLesionVolume], text: `Lesion volume, ${where}` },
      { value: round(lung.lesionVolumeMl, 1), ...Units.millilitre },
      lungSite(region),
    );
    observation(
      `lung-volume/${region}`,
      { coding: [Concepts.volume], text: `Volume of ${where}` },
      { value: round(lung.lungVolumeMl, 1), ...Units.millilitre },
      lungSite(region),
    );
  }

  // DiagnosticReport.
  const threshold = input.conclusionThreshold ?? DEFAULT_CONCLUSION_THRESHOLD;
  const suspected = m.covidProbability >= threshold;
  const report = add(
    {
      resourceType: 'DiagnosticReport',
      text: narrative(conclusionText(m, suspected)),
      identifier: [
        { use: 'official', ...reportId },
        uid(input.sr.sopInstanceUid, Concepts.srInstance),
        uid(input.sr.seriesInstanceUid, Concepts.srSeries),
        uid(input.seg.sopInstanceUid, Concepts.segInstance),
        uid(input.seg.seriesInstanceUid, Concepts.segSeries),
      ],
      status: 'preliminary',
      category: [{ coding: [Concepts.radiology] }],
      code: { coding: [Concepts.ctChest], text: 'CT chest: AI COVID-19 triage' },
      subject,
      effectiveDateTime: effective,
      issued,
      imagingStudy: [{ reference: imagingStudy }],
      result: observations.map((reference) => ({ reference })),
      conclusion: conclusionText(m, suspected),
      conclusionCode: [{ coding: [suspected ? Concepts.suspectedCovid19 : Concepts.negative] }],
    } satisfies fhir4.DiagnosticReport,
    reportId,
  );

  // Provenance: no identifier element in R4, so its conditional create keys on its target report.
  const provenance: fhir4.Provenance = {
    resourceType: 'Provenance',
    text: narrative(`Created by the AI model ${m.model.name}, version ${m.model.version}, at ${issued}.`),
    target: [{ reference: report }, ...observations.map((reference) => ({ reference }))],
    recorded: issued,
    activity: { coding: [Concepts.create] },
    agent: [{ type: { coding: [Concepts.performer] }, who: { reference: device } }],
    entity: [{ role: 'source', what: { reference: imagingStudy } }],
  };
  entries.push({
    fullUrl: fullUrlFor('Provenance', reportId),
    resource: provenance,
    request: {
      method: 'POST',
      url: 'Provenance',
      // With the resource type: HAPI refuses a bare match URL whose parameter name has a
      // chain (`target:DiagnosticReport.identifier=…`, HAPI-0389 "Invalid match URL format").
      ifNoneExist: `Provenance?target:DiagnosticReport.${identifierQuery(reportId)}`,
    },
  });

  return { resourceType: 'Bundle', type: 'transaction', entry: entries };
}

/** A DICOM object of ours (SEG, SR) as a typed, secondary identifier of the report. */
function uid(value: string, type: fhir4.Coding): fhir4.Identifier {
  return { use: 'secondary', type: { coding: [type] }, ...dicomUidIdentifier(value) };
}

/** A generated narrative (dom-6). The Patient gets none: it would only repeat the identifier. */
function narrative(text: string): fhir4.Narrative {
  const escaped = text.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
  return { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml"><p>${escaped}</p></div>` };
}

function patientIdentifier(patient: TriageBundleInput['patient'], base: string): Identified {
  if (patient.system) return { system: patient.system, value: patient.value };
  if (patient.issuer && isAbsoluteUri(patient.issuer)) return { system: patient.issuer, value: patient.value };
  const system = patient.issuer
    ? `${base}/dicom-patient-id/${encodeURIComponent(patient.issuer)}`
    : `${base}/dicom-patient-id`;
  return { system, value: patient.value };
}

function lungSite(region: LungRegion): fhir4.CodeableConcept {
  const concept = region === 'left' ? Concepts.leftLung : region === 'right' ? Concepts.rightLung : Concepts.lung;
  return { coding: [concept], text: REGION_NAME[region][0].toUpperCase() + REGION_NAME[region].slice(1) };
}

function conclusionText(m: TriageMeasurements, suspected: boolean): string {
  const lung = (region: LungRegion) => m.lungs.find((l) => l.region === region)!.percentAffected;
  return [
    `AI triage (${m.model.name}, version ${m.model.version}):`,
    `${suspected ? 'findings suggestive of COVID-19' : 'no findings suggestive of COVID-19'};`,
    `COVID-19 probability ${round(m.covidProbability * 100, 1)}%,`,
    `severity ${round(m.severityPercent, 1)}%`,
    `(left lung ${round(lung('left'), 1)}%, right lung ${round(lung('right'), 1)}% affected).`,
    NOT_FOR_CLINICAL_USE,
  ].join(' ');
}

function checkInput(input: TriageBundleInput): void {
  const problems: string[] = [];
  const uids: [string, string][] = [
    ['study.studyInstanceUid', input.study.studyInstanceUid],
    ['study.seriesInstanceUid', input.study.seriesInstanceUid],
    ['seg.sopInstanceUid', input.seg.sopInstanceUid],
    ['seg.seriesInstanceUid', input.seg.seriesInstanceUid],
    ['sr.sopInstanceUid', input.sr.sopInstanceUid],
    ['sr.seriesInstanceUid', input.sr.seriesInstanceUid],
  ];
  for (const [name, value] of uids) if (!isDicomUid(value)) problems.push(`${name} is not a DICOM UID`);
  if (!input.patient.value.trim()) problems.push('patient.value is empty');
  if (!isAbsoluteUri(input.identifierSystem)) problems.push('identifierSystem is not an absolute URI');
  const m = input.measurements;
  if (!SAFE_TOKEN.test(m.model.id)) problems.push('model.id must match [A-Za-z0-9._+-]{1,64}');
  if (!SAFE_TOKEN.test(m.model.version)) problems.push('model.version must match [A-Za-z0-9._+-]{1,64}');
  if (!inRange(m.covidProbability, 0, 1)) problems.push('covidProbability must be in 0..1');
  if (!inRange(m.severityPercent, 0, 100)) problems.push('severityPercent must be in 0..100');
  for (const region of LUNG_REGIONS) {
    const found = m.lungs.filter((l) => l.region === region);
    if (found.length !== 1) {
      problems.push(`lungs must hold exactly one '${region}' entry`);
      continue;
    }
    const lung = found[0];
    if (!inRange(lung.percentAffected, 0, 100)) problems.push(`lungs.${region}.percentAffected must be in 0..100`);
    if (!inRange(lung.lungVolumeMl, 0, Infinity)) problems.push(`lungs.${region}.lungVolumeMl must be >= 0`);
    if (!inRange(lung.lesionVolumeMl, 0, Infinity)) problems.push(`lungs.${region}.lesionVolumeMl must be >= 0`);
  }
  const threshold = input.conclusionThreshold ?? DEFAULT_CONCLUSION_THRESHOLD;
  if (!inRange(threshold, 0, 1)) problems.push('conclusionThreshold must be in 0..1');
  if (Number.isNaN(new Date(input.timestamp).getTime())) problems.push('timestamp is not a date');
  if (input.study.studyDateTime !== undefined && !FHIR_DATE_TIME.test(input.study.studyDateTime)) {
    problems.push('study.studyDateTime is not a FHIR dateTime (a time needs a zone)');
  }
  if (problems.length) throw new PermanentError('INTERNAL', `cannot build the FHIR report: ${problems.join('; ')}`);
}

function inRange(value: number, min: number, max: number): boolean {
  return Number.isFinite(value) && value >= min && value <= max;
}

function isAbsoluteUri(value: string): boolean {
  return /^(https?:\/\/[^\s]+|urn:[a-z0-9][a-z0-9-]{0,31}:[^\s]+)$/i.test(value);
}

function toInstant(timestamp: Date | string): string {
  return new Date(timestamp).toISOString();
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
