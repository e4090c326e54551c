import type { StoredTriageReport } from '@app/fhir';
import type { ModelIdentity } from '@app/triage-contracts';
import { segUids } from '@app/seg';
import { srUids } from '@app/sr';

/**
 * Has this study already been triaged by this model? Asked before any pixel is fetched,
 * so that an archive re-announcing a study after we stored our SEG and SR into it (as
 * Orthanc does) or a duplicate event does not start the work again. Our SEG and SR
 * series UIDs are derived from the CT series and the model, so they are recognisable.
 */

/** The series of a study as the archive lists them (QIDO). */
export interface ArchiveIndex {
  seriesOfStudy(studyInstanceUid: string, options?: { signal?: AbortSignal }): Promise<IndexedSeries[]>;
}

export interface IndexedSeries {
  seriesInstanceUid: string;
  modality?: string;
}

/** Our report of the study by this model as the FHIR server holds it, if it does. */
export interface ReportIndex {
  findReport(
    studyInstanceUid: string,
    model: Pick<ModelIdentity, 'id' | 'version'>,
    options?: { signal?: AbortSignal },
  ): Promise<StoredTriageReport | undefined>;
}

export type PriorTriage =
  | { kind: 'none' }
  /** The event names only series we wrote ourselves: the archive telling us about our own output. */
  | { kind: 'own-output'; series: string[] }
  /** Our SEG and SR of one of its CT series are in the archive and our report is on the FHIR server. */
  | { kind: 'already-triaged'; sourceSeriesInstanceUid: string; report: StoredTriageReport };

const DERIVED_MODALITIES = new Set(['SEG', 'SR']);

function isDerivedModality(modality: string | undefined): boolean {
  return DERIVED_MODALITIES.has(modality?.toUpperCase() ?? '');
}

/**
 * The SEG and SR series this model writes (or would write) for the study's source series, each
 * mapped to the series it was derived from: the one rule by which the worker and the intake
 * recognise our own output in an archive.
 */
export function ownOutputSeries(
  series: readonly IndexedSeries[],
  model: Pick<ModelIdentity, 'id' | 'version'>,
): Map<string, string> {
  const ours = new Map<string, string>();
  for (const source of series.filter((s) => !isDerivedModality(s.modality))) {
    ours.set(segUids(source.seriesInstanceUid, model).seriesInstanceUid, source.seriesInstanceUid);
    ours.set(srUids(source.seriesInstanceUid, model).seriesInstanceUid, source.seriesInstanceUid);
  }
  return ours;
}

export async function findPriorTriage(
  event: { studyInstanceUid: string; seriesInstanceUids: readonly string[] },
  model: Pick<ModelIdentity, 'id' | 'version'>,
  ports: { archive: ArchiveIndex; reports: ReportIndex },
  options: { signal?: AbortSignal } = {},
): Promise<PriorTriage> {
  const series = await ports.archive.seriesOfStudy(event.studyInstanceUid, options);
  const present = new Set(series.map((s) => s.seriesInstanceUid));
  const sources = series.filter((s) => !isDerivedModality(s.modality));
  const ours = ownOutputSeries(series, model);
  const hints = event.seriesInstanceUids;
  if (hints.length > 0 && hints.every((uid) => ours.has(uid))) return { kind: 'own-output', series: [...hints] };

  const done = sources.find(
    (source) =>
      present.has(segUids(source.seriesInstanceUid, model).seriesInstanceUid) &&
      present.has(srUids(source.seriesInstanceUid, model).seriesInstanceUid),
  );
  // The report is written after the SEG and SR: without it the last run stopped half-way.
  const report = done && (await ports.reports.findReport(event.studyInstanceUid, model, options));
  return report
    ? { kind: 'already-triaged', sourceSeriesInstanceUid: done.seriesInstanceUid, report }
    : { kind: 'none' };
}
