import { readPart10, type EncodedDicomObject } from '@app/dicom';
import { syntheticCtSeries, type SyntheticCtSeries } from '@app/dicom/phantom';
import { PermanentError, TransientError } from '@app/errors';
import { segUids } from '@app/seg';
import { srUids } from '@app/sr';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ArchiveReceipt, ArchiveSink, ReportReceipt, ReportSink } from './ports.js';
import { MemoryStudySource } from './testing/memory-study-source.js';
import { ThresholdAnalyzer } from './testing/threshold-analyzer.js';
import { runTriage, type TriageOptions } from './triage-pipeline.js';
import { STEP_NAMES } from './triage-outcome.js';

class FakeArchive implements ArchiveSink {
  readonly label = 'fake-archive';
  readonly stored = new Map<string, EncodedDicomObject>();
  failWith?: Error;

  async store(objects: readonly EncodedDicomObject[]): Promise<ArchiveReceipt> {
    if (this.failWith) throw this.failWith;
    return {
      objects: objects.map((object) => {
        const duplicate = this.stored.has(object.sopInstanceUid);
        this.stored.set(object.sopInstanceUid, object);
        return { sopInstanceUid: object.sopInstanceUid, location: `fake/${object.sopInstanceUid}`, duplicate };
      }),
    };
  }
}

class FakeReports implements ReportSink {
  readonly label = 'fake-fhir';
  readonly bundles: fhir4.Bundle[] = [];

  async write(bundle: fhir4.Bundle): Promise<ReportReceipt> {
    this.bundles.push(bundle);
    return { diagnosticReport: 'DiagnosticReport/1', created: this.bundles.length === 1, references: ['x/1'] };
  }
}

const fullUrls = (bundle: fhir4.Bundle) => bundle.entry!.map((e) => e.fullUrl);

const options: TriageOptions = { identifierSystem: 'https://triage.example.org/fhir/identifier' };

function ctSeries(studyInstanceUid?: string): SyntheticCtSeries {
  return syntheticCtSeries({
    rows: 64,
    columns: 64,
    slices: 24,
    ...(studyInstanceUid ? { studyInstanceUid } : {}),
    attributes: { ConvolutionKernel: 'LUNG' },
  });
}

async function refuseEverySeries(footprint: { voxels: number }): Promise<() => void> {
  throw new PermanentError('TOO_LARGE', `${footprint.voxels} voxels do not fit`);
}

describe('runTriage', () => {
  let series: SyntheticCtSeries;
  let files: Uint8Array[];
  beforeAll(() => {
    series = ctSeries();
    files = series.instances.map((instance) => instance.bytes);
  });

  it('runs every step and returns the measurements, the written objects and the timings', async () => {
    const analyzer = new ThresholdAnalyzer();
    const archive = new FakeArchive();
    const reports = new FakeReports();
    const outcome = await runTriage({ source: new MemoryStudySource(files) }, { analyzer, archive, reports }, options);

    expect(outcome.studyInstanceUid).toBe(series.studyInstanceUid);
    expect(outcome.series.seriesInstanceUid).toBe(series.seriesInstanceUid);
    expect(outcome.series.slices).toBe(24);
    // The UIDs are the deterministic ones of the writers.
    expect(outcome.segmentation.sopInstanceUid).toBe(segUids(series.seriesInstanceUid, analyzer.model).sopInstanceUid);
    expect(outcome.structuredReport.sopInstanceUid).toBe(
      srUids(series.seriesInstanceUid, analyzer.model).sopInstanceUid,
    );
    expect(outcome.segmentation.segments.map((s) => s.label)).toEqual(['Left lung', 'Right lung', 'COVID-19 lesion']);
    // The archive got a SEG then an SR, both readable DICOM of this study; the SR references the SEG.
    const [seg, sr] = [...archive.stored.values()];
    expect([seg.kind, sr.kind]).toEqual(['SEG', 'SR']);
    for (const object of [seg, sr]) {
      expect(readPart10(object.bytes).dataset.string('StudyInstanceUID')).toBe(series.studyInstanceUid);
    }
    expect(Buffer.from(sr.bytes).includes(Buffer.from(seg.sopInstanceUid, 'latin1'))).toBe(true);
    // The FHIR bundle names the SEG and SR.
    const report = reports.bundles[0].entry!.find((e) => e.resource?.resourceType === 'DiagnosticReport')!
      .resource as fhir4.DiagnosticReport;
    const identifiers = report.identifier!.map((i) => i.value);
    expect(identifiers).toContain(`urn:oid:${seg.sopInstanceUid}`);
    expect(identifiers).toContain(`urn:oid:${sr.sopInstanceUid}`);
    expect(outcome.report.diagnosticReport).toBe('DiagnosticReport/1');
    // Middle third of the slices is "lesion": about a third of each lung, probability 0.8 → urgent.
    expect(outcome.measurements.severityPercent).toBeGreaterThan(25);
    expect(outcome.priority).toBe('urgent');
    for (const name of STEP_NAMES) expect(outcome.timings[`${name}Ms`]).toBeGreaterThanOrEqual(0);
    expect(outcome.timings.totalMs).toBeGreaterThanOrEqual(outcome.timings.analyzeMs);
  });

  it('writes the same objects when a study is run twice (idempotent effects)', async () => {
    const analyzer = new ThresholdAnalyzer();
    const archive = new FakeArchive();
    const reports = new FakeReports();
    const ports = { analyzer, archive, reports };
    const first = await runTriage({ source: new MemoryStudySource(files) }, ports, options);
    const second = await runTriage({ source: new MemoryStudySource(files) }, ports, options);
    expect(archive.stored.size).toBe(2);
    expect(second.segmentation.sopInstanceUid).toBe(first.segmentation.sopInstanceUid);
    expect(second.segmentation.duplicate).toBe(true);
    expect(second.report.created).toBe(false);
    expect(fullUrls(reports.bundles[1])).toEqual(fullUrls(reports.bundles[0]));
  });

  it('fails with NO_USABLE_SERIES before any analysis when the study has no axial CT', async () => {
    const localizer = syntheticCtSeries({ slices: 1, attributes: { ImageType: ['ORIGINAL', 'PRIMARY', 'LOCALIZER'] } });
    const analyzer = new ThresholdAnalyzer();
    const archive = new FakeArchive();
    const run = runTriage(
      { source: new MemoryStudySource(localizer.instances.map((i) => i.bytes)) },
      { analyzer, archive, reports: new FakeReports() },
      options,
    );
    await expect(run).rejects.toBeInstanceOf(PermanentError);
    await expect(run).rejects.toMatchObject({ code: 'NO_USABLE_SERIES' });
    expect(analyzer.calls).toBe(0);
    expect(archive.stored.size).toBe(0);
  });

  it('passes a transient archive failure up and writes no report', async () => {
    const archive = new FakeArchive();
    archive.failWith = new TransientError('archive down');
    const reports = new FakeReports();
    const run = runTriage(
      { source: new MemoryStudySource(files) },
      { analyzer: new ThresholdAnalyzer(), archive, reports },
      options,
    );
    await expect(run).rejects.toBeInstanceOf(TransientError);
    expect(reports.bundles).toHaveLength(0);
  });

  it('stops at the next step once its signal is aborted', async () => {
    const controller = new AbortController();
    const archive = new FakeArchive();
    const run = runTriage(
      { source: new MemoryStudySource(files) },
      { analyzer: new ThresholdAnalyzer(), archive, reports: new FakeReports() },
      { ...options, signal: controller.signal, onAnalyzed: () => controller.abort(new Error('shutting down')) },
    );
    await expect(run).rejects.toThrow('shutting down');
    expect(archive.stored.size).toBe(0);
  });

  it('finishes a write-back already begun when its signal aborts (no report without its answer)', async () => {
    const controller = new AbortController();
    const archive = new FakeArchive();
    const reports = new FakeReports();
    const store = archive.store.bind(archive);
    archive.store = async (objects) => {
      controller.abort(new Error('shutting down'));
      return store(objects);
    };
    const outcome = await runTriage(
      { source: new MemoryStudySource(files) },
      { analyzer: new ThresholdAnalyzer(), archive, reports },
      { ...options, signal: controller.signal },
    );
    expect(controller.signal.aborted).toBe(true);
    expect(archive.stored.size).toBe(2);
    expect(reports.bundles).toHaveLength(1);
    expect(outcome.structuredReport.sopInstanceUid).toBe([...archive.stored.keys()][1]);
  });

  it('reserves the series memory before fetching pixels and gives it back, also on failure', async () => {
    const events: string[] = [];
    const reserveMemory = async (footprint: { voxels: number }) => {
      events.push(`reserve ${footprint.voxels}`);
      return () => void events.push('release');
    };
    await runTriage(
      { source: new MemoryStudySource(files) },
      { analyzer: new ThresholdAnalyzer(), archive: new FakeArchive(), reports: new FakeReports() },
      { ...options, reserveMemory },
    );
    expect(events).toEqual([`reserve ${64 * 64 * 24}`, 'release']);

    events.length = 0;
    const failing = new FakeArchive();
    failing.failWith = new PermanentError('INTERNAL', 'refused');
    await expect(
      runTriage(
        { source: new MemoryStudySource(files) },
        { analyzer: new ThresholdAnalyzer(), archive: failing, reports: new FakeReports() },
        { ...options, reserveMemory },
      ),
    ).rejects.toThrow('refused');
    expect(events).toEqual([`reserve ${64 * 64 * 24}`, 'release']);
  });

  it('admits a series before its volume is allocated: one claiming 30000 × 30000 pixels is refused, not allocated', async () => {
    const huge = syntheticCtSeries({ rows: 8, columns: 8, slices: 20, attributes: { Rows: 30_000, Columns: 30_000 } });
    await expect(
      runTriage(
        { source: new MemoryStudySource(huge.instances.map((i) => i.bytes)) },
        { analyzer: new ThresholdAnalyzer(), archive: new FakeArchive(), reports: new FakeReports() },
        { ...options, reserveMemory: refuseEverySeries },
      ),
    ).rejects.toMatchObject({ code: 'TOO_LARGE', message: `${30_000 * 30_000 * 20} voxels do not fit` });
  });

  it('writes nothing back when the fence before the write-back throws (the partition moved on)', async () => {
    const archive = new FakeArchive();
    const reports = new FakeReports();
    const lost = new Error('partition lost');
    await expect(
      runTriage(
        { source: new MemoryStudySource(files) },
        { analyzer: new ThresholdAnalyzer(), archive, reports },
        {
          ...options,
          beforeWriteBack: () => {
            throw lost;
          },
        },
      ),
    ).rejects.toBe(lost);
    expect(archive.stored.size).toBe(0);
    expect(reports.bundles).toHaveLength(0);
  });
});
