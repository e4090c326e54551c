import { PermanentError } from '@app/errors';
import { z } from 'zod';
import { FM_CHANNELS, PYRAMID_FEATURE_SIZE, PYRAMID_LEVELS, PYRAMID_MIN_AXIS } from './pyramid-pooling.js';

/**
 * The manifest that ships with the three ONNX graphs (training/manifest.schema.json,
 * written by training/covid_triage/export.py). The zod schema mirrors the JSON schema
 * field for field; `parseModelManifest` then checks that the model set is the one this
 * pipeline was written for (tensor names and shapes, pyramid pooling, spacing, window).
 * Pure logic: reading the file and verifying the sha256 of each graph is the caller's job.
 */

const code = z.strictObject({
  system: z.url(),
  code: z.string(),
  display: z.string(),
});

const tensor = z.strictObject({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
  dtype: z.literal('float32'),
  shape: z.array(z.union([z.int().min(1), z.string().regex(/^[A-Za-z]+$/)])).min(1),
  meaning: z.string(),
  code: code.optional(),
  unitCode: code.optional(),
});

export const GRAPH_NAMES = ['lungs', 'backbone_seg', 'cls_mlp'] as const;
export type GraphName = (typeof GRAPH_NAMES)[number];

const graph = z.strictObject({
  name: z.enum(GRAPH_NAMES),
  file: z.string().regex(/^[A-Za-z0-9_.-]+\.onnx$/),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  opset: z.int().min(1),
  inputs: z.array(tensor).min(1),
  outputs: z.array(tensor).min(1),
});

export const modelManifestSchema = z.strictObject({
  schemaVersion: z.literal(1),
  id: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/),
  version: z.string().min(1),
  /** Goes into DICOM LO attributes (the SEG/SR algorithm name): 64 characters at most. */
  name: z.string().min(1).max(64),
  intendedUse: z.string().regex(/not for clinical use/, 'must say "not for clinical use"'),
  reference: z.string().optional(),
  weights: z.looseObject({ trained: z.boolean(), widthMultiplier: z.number().gt(0) }).optional(),
  preprocessing: z.looseObject({
    arrayLayout: z.literal('(rows, cols, slices)'),
    orientation: z.looseObject({ rows: z.string(), cols: z.string(), slices: z.string() }),
    inPlaneSpacingMm: z.array(z.number().gt(0)).length(2),
    sliceAxisResampled: z.boolean().optional(),
    resampling: z.string().optional(),
    hu: z.string().optional(),
    window: z.looseObject({ huMin: z.number(), huMax: z.number(), outMin: z.number(), outMax: z.number() }),
    lungCrop: z.string().optional(),
  }),
  thresholds: z.strictObject({
    lungs: z.number().min(0).max(1),
    lesions: z.number().min(0).max(1),
  }),
  pyramidPooling: z.looseObject({
    levels: z.array(z.int().min(1)).min(1),
    featureSize: z.int().min(1),
    minAxisLength: z.int().min(1),
    rule: z.string().optional(),
    layout: z.string().optional(),
  }),
  graphs: z.array(graph).length(3),
});

export type ModelManifest = z.infer<typeof modelManifestSchema>;
export type ManifestGraph = ModelManifest['graphs'][number];

/** One tensor the pipeline feeds or reads: `null` in a shape accepts any size, symbolic or fixed. */
export interface ExpectedTensor {
  name: string;
  shape: readonly (number | null)[];
}

export interface ManifestExpectations {
  graphs: Record<GraphName, { inputs: readonly ExpectedTensor[]; outputs: readonly ExpectedTensor[] }>;
  featureSize: number;
  levels: readonly number[];
  minAxisLength: number;
  inPlaneSpacingMm: readonly [number, number];
  window: { huMin: number; huMax: number; outMin: number; outMax: number };
}

/** What this pipeline (preprocess.ts, PyramidPooler, OnnxSession callers) is written against. */
export const PIPELINE_EXPECTATIONS: ManifestExpectations = {
  graphs: {
    lungs: {
      inputs: [{ name: 'slice', shape: [null, 1, null, null] }],
      outputs: [{ name: 'lung_logit', shape: [null, 1, null, null] }],
    },
    backbone_seg: {
      inputs: [{ name: 'slice', shape: [null, 1, null, null] }],
      outputs: [
        { name: 'fm', shape: [null, FM_CHANNELS, null, null] },
        { name: 'lesion_logit', shape: [null, 1, null, null] },
      ],
    },
    cls_mlp: {
      inputs: [{ name: 'features', shape: [1, PYRAMID_FEATURE_SIZE] }],
      outputs: [{ name: 'covid_logit', shape: [1, 1] }],
    },
  },
  featureSize: PYRAMID_FEATURE_SIZE,
  levels: PYRAMID_LEVELS,
  minAxisLength: PYRAMID_MIN_AXIS,
  inPlaneSpacingMm: [2, 2],
  window: { huMin: -1000, huMax: 300, outMin: 0, outMax: 1 },
};

/** The manifest does not describe the model set this pipeline runs. Permanent: a deployment error. */
export class ModelManifestError extends PermanentError {
  constructor(readonly issues: readonly string[]) {
    super('INTERNAL', `model manifest rejected (${issues.length} issue(s)): ${issues.join('; ')}`);
  }
}

const show = (value: unknown) => JSON.stringify(value);

function checkTensors(
  where: string,
  actual: readonly ManifestGraph['inputs'][number][],
  expected: readonly ExpectedTensor[],
  issues: string[],
): void {
  const names = actual.map((t) => t.name);
  const wanted = expected.map((t) => t.name);
  if (show(names) !== show(wanted)) issues.push(`${where}: tensor names ${show(names)}, expected ${show(wanted)}`);
  for (const want of expected) {
    const got = actual.find((t) => t.name === want.name);
    if (!got) continue;
    if (got.shape.length !== want.shape.length) {
      issues.push(
        `${where} '${want.name}': rank ${got.shape.length} (shape ${show(got.shape)}), expected rank ${want.shape.length}`,
      );
      continue;
    }
    want.shape.forEach((size, axis) => {
      if (size !== null && got.shape[axis] !== size) {
        issues.push(`${where} '${want.name}': axis ${axis} is ${show(got.shape[axis])}, expected ${size}`);
      }
    });
  }
}

/**
 * Validates a parsed manifest.json against the schema and against what the pipeline
 * expects, and throws a ModelManifestError that lists every problem found. Schema
 * problems are reported first; the pipeline checks need a structurally valid manifest.
 */
export function parseModelManifest(
  json: unknown,
  expected: ManifestExpectations = PIPELINE_EXPECTATIONS,
): ModelManifest {
  const parsed = modelManifestSchema.safeParse(json);
  if (!parsed.success) {
    throw new ModelManifestError(
      parsed.error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`),
    );
  }
  const manifest = parsed.data;
  const issues: string[] = [];
  const { preprocessing: pre, pyramidPooling: pool } = manifest;

  for (const name of GRAPH_NAMES) {
    const matching = manifest.graphs.filter((g) => g.name === name);
    if (matching.length !== 1) {
      issues.push(`graphs: ${matching.length} graph(s) named '${name}', expected exactly one`);
      continue;
    }
    const [g] = matching;
    checkTensors(`graph ${name} inputs`, g.inputs, expected.graphs[name].inputs, issues);
    checkTensors(`graph ${name} outputs`, g.outputs, expected.graphs[name].outputs, issues);
  }
  const files = manifest.graphs.map((g) => g.file);
  if (new Set(files).size !== files.length) issues.push(`graphs: files ${show(files)} are not distinct`);

  if (pool.featureSize !== expected.featureSize) {
    issues.push(`pyramidPooling.featureSize is ${pool.featureSize}, expected ${expected.featureSize}`);
  }
  if (show(pool.levels) !== show(expected.levels)) {
    issues.push(`pyramidPooling.levels are ${show(pool.levels)}, expected ${show(expected.levels)}`);
  }
  if (pool.minAxisLength !== expected.minAxisLength) {
    issues.push(`pyramidPooling.minAxisLength is ${pool.minAxisLength}, expected ${expected.minAxisLength}`);
  }
  if (show(pre.inPlaneSpacingMm) !== show(expected.inPlaneSpacingMm)) {
    issues.push(
      `preprocessing.inPlaneSpacingMm is ${show(pre.inPlaneSpacingMm)}, expected ${show(expected.inPlaneSpacingMm)}`,
    );
  }
  if (pre.sliceAxisResampled === true) issues.push('preprocessing.sliceAxisResampled is true, expected false');
  for (const key of ['huMin', 'huMax', 'outMin', 'outMax'] as const) {
    if (pre.window[key] !== expected.window[key]) {
      issues.push(`preprocessing.window.${key} is ${pre.window[key]}, expected ${expected.window[key]}`);
    }
  }
  const orientation: ['rows' | 'cols' | 'slices', RegExp][] = [
    ['rows', /^anterior\s*->\s*posterior/i],
    ['cols', /^(patient\s+)?right\s*->\s*left/i],
    ['slices', /^head\s*->\s*feet/i],
  ];
  for (const [axis, pattern] of orientation) {
    if (!pattern.test(pre.orientation[axis])) {
      issues.push(`preprocessing.orientation.${axis} is ${show(pre.orientation[axis])}, expected ${pattern.source}`);
    }
  }

  if (issues.length > 0) throw new ModelManifestError(issues);
  return manifest;
}
