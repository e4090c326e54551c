import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfigFromEnvironment } from '@app/config';
import { createFrameDecoder } from '@app/dicom';
import { loadTriageModel } from '@app/inference';
import { FolderStudySource, type StudySource } from '@app/ingest';
import { BundleFileReportSink, FolderArchiveSink, runTriage, type TriageOutcome } from '@app/pipeline';
import { renderPreviewPng } from '@app/preview';
import { triagePriority, type TriageMeasurements } from '@app/triage-contracts';
import { dicomwebStudySource } from './dicomweb-source.js';
import { writePhantomStudy } from './phantom-command.js';

export const ANALYZE_USAGE = `usage: triage analyze [<folder-or-dicomweb-study-url>] [--out <dir>] [--model <manifest.json>] [--threads <n>]

  analyze   run the whole triage without Kafka: choose the CT series, run the model,
            and write into <dir> (default out/analyze): seg.dcm (DICOM SEG),
            sr.dcm (TID 1500 SR), report.bundle.json (FHIR transaction Bundle),
            result.json (the numbers) and preview.png (key slices with lungs and
            lesions). Without a study it analyses the embedded phantom study.
            --model    the model set's manifest.json (default MODEL_MANIFEST, else the
                       demonstration model shipped in models/)
            --threads  decoding and inference threads (default: one per core)
            A URL is <dicomweb-root>/studies/<StudyInstanceUID>; credentials come from
            DICOMWEB_AUTH and friends (see README). Not for clinical use.`;

export const DISCLAIMER =
  'NOT FOR CLINICAL USE. A demonstration of the method of Goncharov et al. 2021 with demonstration weights; ' +
  'its outputs must never be used to diagnose or treat anyone.';

/** Wrong options or arguments: the caller prints the usage and exits 2. */
export class AnalyzeUsageError extends Error {}

export interface AnalyzeRequest {
  /** Folder or DICOMweb study URL; undefined: the embedded phantom study. */
  target?: string;
  out: string;
  modelManifest?: string;
  threads?: number;
}

export function parseAnalyzeArguments(argv: string[]): AnalyzeRequest {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        out: { type: 'string', short: 'o' },
        model: { type: 'string' },
        threads: { type: 'string' },
      },
    });
  } catch (error) {
    throw new AnalyzeUsageError((error as Error).message);
  }
  const { positionals, values } = parsed;
  if (positionals.length > 1) throw new AnalyzeUsageError(`one study at a time, got ${positionals.length}`);
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 256)) {
    throw new AnalyzeUsageError(`--threads must be an integer from 1 to 256, got ${values.threads}`);
  }
  return {
    ...(positionals[0] === undefined ? {} : { target: positionals[0] }),
    out: values.out ?? join('out', 'analyze'),
    ...(values.model === undefined ? {} : { modelManifest: values.model }),
    ...(threads === undefined ? {} : { threads }),
  };
}

/** The repository (or installed package) root: the folder above this module that holds package.json. */
function packageRoot(): string | undefined {
  let folder = dirname(fileURLToPath(import.meta.url));
  while (dirname(folder) !== folder) {
    if (existsSync(join(folder, 'package.json')) && existsSync(join(folder, 'models'))) return folder;
    folder = dirname(folder);
  }
  return undefined;
}

/** --model, else MODEL_MANIFEST (relative to the working folder, then to the package, so it runs from anywhere). */
function manifestPath(requested: string | undefined, configured: string): string {
  if (requested !== undefined) return resolve(requested);
  if (isAbsolute(configured) || existsSync(configured)) return resolve(configured);
  const root = packageRoot();
  return root ? join(root, configured) : resolve(configured);
}

export interface AnalyzeResult {
  disclaimer: string;
  source: string;
  studyInstanceUid: string;
  series: TriageOutcome['series'];
  model: TriageOutcome['model'] & { manifest: string; executionProviders: readonly string[] };
  covidProbability: number;
  severityPercent: number;
  priority: TriageOutcome['priority'];
  lungs: TriageMeasurements['lungs'];
  segmentation: Pick<TriageOutcome['segmentation'], 'sopInstanceUid' | 'seriesInstanceUid' | 'frameCount' | 'segments'>;
  structuredReport: Pick<TriageOutcome['structuredReport'], 'sopInstanceUid' | 'seriesInstanceUid'>;
  timings: TriageOutcome['timings'] & { loadModelMs: number; previewMs: number };
  outputs: { seg: string; sr: string; report: string; result: string; preview: string };
  rejectedSeries: TriageOutcome['rejectedSeries'];
  unreadableInstances: TriageOutcome['unreadable'];
}

/**
 * `triage analyze`: the worker's pipeline with file-writing ports instead of DICOMweb STOW
 * and a FHIR server, plus a preview image. Progress goes to `log`; typed errors propagate.
 */
export async function analyzeStudy(request: AnalyzeRequest, log: (line: string) => void): Promise<AnalyzeResult> {
  const config = loadConfigFromEnvironment();
  const out = resolve(request.out);
  await mkdir(out, { recursive: true });
  const threads = request.threads ?? availableParallelism();
  const manifest = manifestPath(request.modelManifest, config.inference.manifestPath);

  let phantomFolder: string | undefined;
  const decoder = createFrameDecoder(threads);
  try {
    let source: StudySource;
    if (request.target === undefined) {
      phantomFolder = await mkdtemp(join(tmpdir(), 'triage-phantom-'));
      const phantom = await writePhantomStudy(phantomFolder);
      log(`no study given: analysing the embedded phantom study ${phantom.studyInstanceUid}`);
      source = new FolderStudySource(phantomFolder);
    } else {
      source = await studySourceFor(request.target);
    }

    const loadStarted = performance.now();
    const analyzer = await loadTriageModel({
      manifestPath: manifest,
      executionProviders: config.inference.executionProviders,
      intraOpThreads: request.threads ?? config.inference.intraOpThreads ?? threads,
      batchSlices: config.inference.batchSlices,
      log,
    });
    const loadModelMs = Math.round(performance.now() - loadStarted);
    const outputs = {
      seg: join(out, 'seg.dcm'),
      sr: join(out, 'sr.dcm'),
      report: join(out, 'report.bundle.json'),
      result: join(out, 'result.json'),
      preview: join(out, 'preview.png'),
    };
    let previewMs = 0;
    let outcome: TriageOutcome;
    try {
      outcome = await runTriage(
        { source },
        { analyzer, archive: new FolderArchiveSink(out), reports: new BundleFileReportSink(out) },
        {
          identifierSystem: config.fhir.identifierSystem,
          decoder,
          log: (message, fields) => log(fields ? `${message} ${JSON.stringify(fields)}` : message),
          onAnalyzed: async (study, analysis) => {
            const started = performance.now();
            const { png } = renderPreviewPng(study.volume, analysis.masks, {
              caption: previewCaption(analysis.measurements),
            });
            await writeFile(outputs.preview, png);
            previewMs = Math.round(performance.now() - started);
          },
        },
      );
    } finally {
      await analyzer.close();
    }

    const { measurements } = outcome;
    const result: AnalyzeResult = {
      disclaimer: DISCLAIMER,
      source: request.target === undefined ? 'embedded phantom study' : source.label,
      studyInstanceUid: outcome.studyInstanceUid,
      series: outcome.series,
      model: { ...outcome.model, manifest, executionProviders: analyzer.executionProviders },
      covidProbability: measurements.covidProbability,
      severityPercent: measurements.severityPercent,
      priority: outcome.priority,
      lungs: measurements.lungs,
      segmentation: pick(outcome.segmentation, ['sopInstanceUid', 'seriesInstanceUid', 'frameCount', 'segments']),
      structuredReport: pick(outcome.structuredReport, ['sopInstanceUid', 'seriesInstanceUid']),
      timings: { ...outcome.timings, loadModelMs, previewMs },
      outputs,
      rejectedSeries: outcome.rejectedSeries,
      unreadableInstances: outcome.unreadable,
    };
    await writeFile(outputs.result, `${JSON.stringify(result, null, 2)}\n`);
    log(`done: outputs in ${out}`);
    return result;
  } finally {
    await decoder.close();
    if (phantomFolder) await rm(phantomFolder, { recursive: true, force: true });
  }
}

async function studySourceFor(target: string): Promise<StudySource> {
  if (/^https?:\/\//.test(target)) return dicomwebStudySource(target);
  const info = await stat(target).catch(() => undefined);
  if (!info?.isDirectory()) throw new AnalyzeUsageError(`not a folder or an http(s) study URL: ${target}`);
  return new FolderStudySource(target);
}

function previewCaption(measurements: TriageMeasurements): string[] {
  const priority = triagePriority(measurements).toUpperCase();
  const lung = (region: string) => measurements.lungs.find((l) => l.region === region);
  const affected = (region: string) => `${(lung(region)?.percentAffected ?? 0).toFixed(1)}%`;
  return [
    `COVID-19 PROBABILITY ${measurements.covidProbability.toFixed(2)}  SEVERITY ${measurements.severityPercent.toFixed(1)}%  PRIORITY ${priority}`,
    `AFFECTED: RIGHT ${affected('right')}  LEFT ${affected('left')}  MODEL ${measurements.model.id} ${measurements.model.version}`,
  ];
}

function pick<T extends object, K extends keyof T>(object: T, keys: K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((key) => [key, object[key]])) as Pick<T, K>;
}
