import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { CtVolume } from '@app/dicom';
import { PermanentError } from '@app/errors';
import { GRAPH_NAMES, parseModelManifest, PIPELINE_EXPECTATIONS, type ModelManifest } from './model-manifest.js';
import { OnnxSession, type ExecutionProvider } from './onnx-session.js';
import type { TriageAnalysis, TriageModelOptions, VolumeAnalyzer } from './triage-analysis.js';
import { onnxTriageGraphs, type TriageGraphs, type TriageSessions } from './triage-graphs.js';
import type { ModelIdentity } from '@app/triage-contracts';
import { analyzeVolume, type PipelineSettings } from './analyze-volume.js';

/**
 * The model-set adapter: the only code of the inference library that reads files. It reads
 * manifest.json, validates it (parseModelManifest), checks every graph's SHA-256 against the
 * manifest, and creates the three ONNX sessions once; the returned analyzer reuses them.
 */

export const DEFAULT_BATCH_SLICES = 16;

export type ModelFileProblem = 'missing' | 'unreadable' | 'sha256-mismatch' | 'tensor-names';

/** A file of the model set is absent, unreadable, altered, or not the graph the manifest describes. */
export class ModelFileError extends PermanentError {
  constructor(
    readonly file: string,
    readonly problem: ModelFileProblem,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('INTERNAL', `model file ${file}: ${message}`, options);
  }
}

export interface VerifiedModelSet {
  manifest: ModelManifest;
  /** Absolute path of each graph, its SHA-256 checked. */
  graphPaths: Record<(typeof GRAPH_NAMES)[number], string>;
}

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
const firstLine = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0];

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Reads and validates manifest.json and verifies the graphs beside it. */
export async function readModelSet(manifestPath: string): Promise<VerifiedModelSet> {
  const path = resolve(manifestPath);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    const problem = isMissing(error) ? 'missing' : 'unreadable';
    throw new ModelFileError(path, problem, `cannot read the manifest (${firstLine(error)})`, { cause: error });
  }
  const manifest = parseModelManifest(json);
  const graphPaths = {} as VerifiedModelSet['graphPaths'];
  for (const graph of manifest.graphs) {
    const file = resolve(dirname(path), graph.file);
    let actual: string;
    try {
      actual = await sha256(file);
    } catch (error) {
      const problem = isMissing(error) ? 'missing' : 'unreadable';
      throw new ModelFileError(file, problem, `graph '${graph.name}' ${problem} (${firstLine(error)})`, {
        cause: error,
      });
    }
    if (actual !== graph.sha256) {
      throw new ModelFileError(
        file,
        'sha256-mismatch',
        `graph '${graph.name}' has SHA-256 ${actual}, the manifest says ${graph.sha256}: not the model set the manifest describes`,
      );
    }
    graphPaths[graph.name] = file;
  }
  return { manifest, graphPaths };
}

function checkTensorNames(name: keyof TriageSessions, session: OnnxSession): void {
  const expected = PIPELINE_EXPECTATIONS.graphs[name];
  const want = { inputs: expected.inputs.map((t) => t.name), outputs: expected.outputs.map((t) => t.name) };
  const got = { inputs: [...session.inputNames], outputs: [...session.outputNames] };
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new ModelFileError(
      session.path,
      'tensor-names',
      `graph '${name}' has tensors ${JSON.stringify(got)}, the contract says ${JSON.stringify(want)}`,
    );
  }
}

async function createSessions(set: VerifiedModelSet, options: TriageModelOptions): Promise<TriageSessions> {
  const created: Partial<TriageSessions> = {};
  try {
    for (const name of GRAPH_NAMES) {
      const session = await OnnxSession.create(set.graphPaths[name], {
        executionProviders: options.executionProviders,
        intraOpThreads: options.intraOpThreads,
        log: options.log,
      });
      created[name] = session;
      checkTensorNames(name, session);
    }
    return created as TriageSessions;
  } catch (error) {
    await Promise.all(Object.values(created).map((s: OnnxSession) => s.close()));
    throw error;
  }
}

class OnnxVolumeAnalyzer implements VolumeAnalyzer {
  constructor(
    readonly model: ModelIdentity,
    readonly executionProviders: readonly ExecutionProvider[],
    private readonly graphs: TriageGraphs,
    private readonly settings: PipelineSettings,
    readonly providerFallback?: VolumeAnalyzer['providerFallback'],
  ) {}

  analyze(volume: CtVolume): Promise<TriageAnalysis> {
    return analyzeVolume(volume, this.graphs, this.settings);
  }

  close(): Promise<void> {
    return this.graphs.close();
  }
}

/** The pipeline's settings from a validated manifest (thresholds, window, spacing). */
export function pipelineSettings(manifest: ModelManifest, batchSlices = DEFAULT_BATCH_SLICES): PipelineSettings {
  return {
    model: { id: manifest.id, name: manifest.name, version: manifest.version },
    thresholds: { ...manifest.thresholds },
    window: { ...manifest.preprocessing.window },
    inPlaneSpacingMm: manifest.preprocessing.inPlaneSpacingMm[0],
    batchSlices,
  };
}

/** Loads a model set once: validated manifest, verified graphs, three sessions reused for every study. */
export async function loadTriageModel(options: TriageModelOptions): Promise<VolumeAnalyzer> {
  const batchSlices = options.batchSlices ?? DEFAULT_BATCH_SLICES;
  if (!Number.isInteger(batchSlices) || batchSlices < 1) {
    throw new RangeError(`batchSlices must be a positive integer, got ${batchSlices}`);
  }
  const set = await readModelSet(options.manifestPath);
  const sessions = await createSessions(set, options);
  const settings = pipelineSettings(set.manifest, batchSlices);
  // The backbone carries nearly all the work: its providers are the ones that matter.
  const providers = sessions.backbone_seg.executionProviders;
  options.log?.(
    `model ${settings.model.id} ${settings.model.version} loaded from ${dirname(resolve(options.manifestPath))} ` +
      `(providers [${providers.join(', ')}], ${options.intraOpThreads ?? 'default'} intra-op threads, ${batchSlices} slices per batch)`,
  );
  const fallbackReason = sessions.backbone_seg.fallbackReason;
  const fallback =
    fallbackReason === undefined
      ? undefined
      : { requested: options.executionProviders ?? ['cpu' as const], reason: fallbackReason };
  return new OnnxVolumeAnalyzer(settings.model, providers, onnxTriageGraphs(sessions), settings, fallback);
}
