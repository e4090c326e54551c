import type { IngestedStudy } from '@app/ingest';

const round = (values: number[]) => values.map((v) => Number(v.toFixed(6)));

/** The JSON `triage inspect` prints: what was chosen and why, and the volume's geometry. No patient data. */
export function inspectReport(source: string, study: IngestedStudy) {
  const { volume, selection } = study;
  const g = volume.geometry;
  return {
    source,
    studyInstanceUid: study.studyInstanceUid,
    chosenSeries: selection.selected,
    dimensions: { columns: g.columns, rows: g.rows, slices: g.slices },
    spacingMm: { column: g.spacing[0], row: g.spacing[1], slice: Number(g.spacing[2].toFixed(6)) },
    imageOrientationPatient: round(g.imageOrientation),
    sliceDirection: round(g.directions[2]),
    originMm: round(g.origin),
    lastSlicePositionMm: round(volume.slices.at(-1)!.position),
    affine: round(g.affine),
    huRange: volume.huRange,
    transferSyntaxes: volume.transferSyntaxes,
    frameOfReferenceUid: g.frameOfReferenceUid,
    rejectedSeries: selection.rejected,
    unreadableInstances: study.unreadable,
    warnings: volume.warnings,
  };
}
