// The GPU check's program (scripts/gpu/check.sh runs it): one model set on one real CT series,
// through the worker's own inference library (the built dist/, onnxruntime-node), first with the
// CPU provider, then with the GPU providers; compares the two and times both.
//
//   node scripts/gpu/check.mjs --series DIR --manifest FILE [--label NAME] [--providers cuda,cpu]
//     [--runs 3] [--cpu-runs 1] [--warmups 1] [--batch 16] [--tolerance-probability 0.005] [--tolerance-dice 0.99]
//     [--allow-cpu]
//
// Timed: analyze() alone (preprocessing, the three graphs, pooling, masks back on the source grid),
// not reading the DICOM nor creating the sessions. Each side first gets --warmups untimed studies
// (CUDA context and cuDNN's algorithm search on the GPU; the allocator's first growth on the CPU,
// which makes a first CPU study about twice as slow as the next here). Prints one JSON line per provider, one for the
// comparison, then `RESULT <label> ok|FAILED …`; exits 1 when a tolerance is exceeded or when the
// GPU run did not get its first provider (onnxruntime fell back to the CPU) unless --allow-cpu.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { createFrameDecoder } from '../../dist/libs/dicom/src/index.js';
import { loadTriageModel, OnnxSession } from '../../dist/libs/inference/src/index.js';
import { FolderStudySource, ingestStudy } from '../../dist/libs/ingest/src/index.js';

const { values: args } = parseArgs({
  options: {
    series: { type: 'string' },
    manifest: { type: 'string' },
    label: { type: 'string', default: 'model' },
    providers: { type: 'string', default: 'cuda,cpu' },
    runs: { type: 'string', default: '3' },
    'cpu-runs': { type: 'string', default: '1' },
    warmups: { type: 'string', default: '1' },
    batch: { type: 'string', default: '16' },
    'tolerance-probability': { type: 'string', default: '0.005' },
    'tolerance-dice': { type: 'string', default: '0.99' },
    // The backbone's raw outputs: max |Δ| over the CPU output's largest magnitude.
    'tolerance-relative': { type: 'string', default: '0.01' },
    'allow-cpu': { type: 'boolean', default: false },
  },
});
if (!args.series || !args.manifest) throw new Error('usage: check.mjs --series DIR --manifest FILE [options]');
const gpuProviders = args.providers.split(',');
const batchSlices = Number(args.batch);
const toleranceProbability = Number(args['tolerance-probability']);
const toleranceDice = Number(args['tolerance-dice']);
const toleranceRelative = Number(args['tolerance-relative']);

const decoder = createFrameDecoder(availableParallelism());
const { volume } = await ingestStudy(new FolderStudySource(args.series), { decoder });
await decoder.close();
const slices = volume.geometry.slices;

const median = (xs) => xs.toSorted((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

/** Loads the set with these providers, runs `warmups` untimed and `runs` timed studies. */
async function measure(providers, runs, warmups) {
  const logs = [];
  const analyzer = await loadTriageModel({
    manifestPath: args.manifest,
    executionProviders: providers,
    batchSlices,
    log: (line) => logs.push(line),
  });
  try {
    for (let i = 0; i < warmups; i++) await analyzer.analyze(volume);
    const times = [];
    let first;
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      const analysis = await analyzer.analyze(volume);
      times.push(performance.now() - start);
      first ??= analysis;
    }
    const ms = median(times);
    return {
      summary: {
        label: args.label,
        requested: providers.join(','),
        used: analyzer.executionProviders.join(','),
        model: `${analyzer.model.id} ${analyzer.model.version}`,
        slices,
        runs,
        studyMs: Math.round(ms),
        slicesPerSecond: Number((slices / (ms / 1000)).toFixed(1)),
        onnxMs: Math.round(first.timings.lungsMs + first.timings.backboneMs + first.timings.classifyMs),
        covidProbability: first.measurements.covidProbability,
        severityPercent: first.measurements.severityPercent,
        fallback: logs.filter((line) => /falling back/.test(line)),
      },
      analysis: first,
      used: analyzer.executionProviders,
    };
  } finally {
    await analyzer.close();
  }
}

/** Voxel agreement of two 0/1 masks: Dice (1 when both are empty) and the voxels that differ. */
function agreement(a, b) {
  let both = 0;
  let sumA = 0;
  let sumB = 0;
  for (let i = 0; i < a.length; i++) {
    sumA += a[i];
    sumB += b[i];
    both += a[i] & b[i];
  }
  const dice = sumA + sumB === 0 ? 1 : (2 * both) / (sumA + sumB);
  return { dice: Number(dice.toFixed(5)), differing: sumA + sumB - 2 * both, voxelsCpu: sumA, voxelsGpu: sumB };
}

const warmups = Number(args.warmups);
const cpu = await measure(['cpu'], Number(args['cpu-runs']), warmups);
process.stdout.write(`${JSON.stringify(cpu.summary)}\n`);
const gpu = await measure(gpuProviders, Number(args.runs), warmups);
process.stdout.write(`${JSON.stringify(gpu.summary)}\n`);

/**
 * The backbone graph alone, CPU against GPU on one input: the middle 16 slices of the series, every
 * 3rd pixel (about 2 mm on P001), windowed as the manifest says. Unlike the masks (a threshold
 * hides small differences, and a random backbone's lesion logits all fall on one side of it), the
 * raw outputs show how far the GPU's arithmetic is from the CPU's.
 */
async function backboneOutputs(providers) {
  const manifest = JSON.parse(readFileSync(args.manifest, 'utf8'));
  const graph = manifest.graphs.find((g) => g.name === 'backbone_seg');
  const { rows, columns } = volume.geometry;
  const step = 3;
  const [h, w, n] = [Math.floor(rows / step), Math.floor(columns / step), Math.min(16, slices)];
  const k0 = Math.floor((slices - n) / 2);
  const { huMin, huMax, outMin, outMax } = manifest.preprocessing.window;
  const data = new Float32Array(n * h * w);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < h; j++) {
      for (let i = 0; i < w; i++) {
        const hu = volume.hu[(k0 + k) * rows * columns + j * step * columns + i * step];
        const t = Math.min(1, Math.max(0, (hu - huMin) / (huMax - huMin)));
        data[k * h * w + j * w + i] = outMin + t * (outMax - outMin);
      }
    }
  }
  const session = await OnnxSession.create(join(dirname(args.manifest), graph.file), { executionProviders: providers });
  try {
    return { used: session.executionProviders, outputs: await session.run({ slice: { data, dims: [n, 1, h, w] } }) };
  } finally {
    await session.close();
  }
}
const rawCpu = await backboneOutputs(['cpu']);
const rawGpu = await backboneOutputs(gpuProviders);
const raw = Object.fromEntries(
  Object.entries(rawCpu.outputs).map(([name, { data: a }]) => {
    const b = rawGpu.outputs[name].data;
    let maxDiff = 0;
    let scale = 0;
    for (let i = 0; i < a.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
      scale = Math.max(scale, Math.abs(a[i]));
    }
    return [
      name,
      { maxAbsDiff: Number(maxDiff.toExponential(3)), relative: Number((maxDiff / (scale || 1)).toExponential(3)) },
    ];
  }),
);

const masks = Object.fromEntries(
  ['rightLung', 'leftLung', 'lesion'].map((name) => [
    name,
    agreement(cpu.analysis.masks[name], gpu.analysis.masks[name]),
  ]),
);
const probabilityDiff = Math.abs(cpu.summary.covidProbability - gpu.summary.covidProbability);
const severityDiff = Math.abs(cpu.summary.severityPercent - gpu.summary.severityPercent);
const problems = [];
if (probabilityDiff > toleranceProbability) {
  problems.push(`|Δ probability| ${probabilityDiff.toExponential(2)} > ${toleranceProbability}`);
}
for (const [name, { dice }] of Object.entries(masks)) {
  if (dice < toleranceDice) problems.push(`${name} Dice ${dice} < ${toleranceDice}`);
}
for (const [name, { relative }] of Object.entries(raw)) {
  if (relative > toleranceRelative)
    problems.push(`backbone ${name} relative max |Δ| ${relative} > ${toleranceRelative}`);
}
if (gpu.used[0] !== gpuProviders[0] && !args['allow-cpu']) {
  problems.push(`asked for [${gpuProviders}], onnxruntime used [${gpu.used}] (${gpu.summary.fallback.join('; ')})`);
}
const comparison = {
  label: args.label,
  probabilityDiff,
  severityPercentDiff: Number(severityDiff.toFixed(4)),
  masks,
  backboneRaw: raw,
  tolerance: { probability: toleranceProbability, dice: toleranceDice, relative: toleranceRelative },
  speedup: Number((cpu.summary.studyMs / gpu.summary.studyMs).toFixed(2)),
};
process.stdout.write(`${JSON.stringify(comparison)}\n`);
process.stdout.write(
  `RESULT ${args.label} ${problems.length ? 'FAILED' : 'ok'} providers=${gpu.summary.used} ` +
    `gpu_study_ms=${gpu.summary.studyMs} gpu_slices_per_s=${gpu.summary.slicesPerSecond} ` +
    `cpu_study_ms=${cpu.summary.studyMs} cpu_slices_per_s=${cpu.summary.slicesPerSecond} ` +
    `prob_diff=${probabilityDiff.toExponential(2)} lesion_dice=${masks.lesion.dice} ` +
    `backbone_rel_diff=${Math.max(...Object.values(raw).map((r) => r.relative)).toExponential(2)}` +
    (problems.length ? ` problems: ${problems.join('; ')}` : '') +
    '\n',
);
process.exitCode = problems.length ? 1 : 0;
