// Ours in `npm run bench:inference`: one study through loadTriageModel's analyzer (the built
// dist/), as the worker runs it. Ingest and model loading are not timed. One JSON line: ms
// (analyze), slices per second, the stage timings, the lung box, peak RSS of the whole process.
// Usage: node inference-ours.mjs <series folder> [<manifest.json>, default the demo set]
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFrameDecoder } from '../../dist/libs/dicom/src/index.js';
import { loadTriageModel } from '../../dist/libs/inference/src/index.js';
import { FolderStudySource, ingestStudy } from '../../dist/libs/ingest/src/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const threads = Number(process.env.BENCH_THREADS ?? availableParallelism());
const batchSlices = Number(process.env.BENCH_BATCH ?? 16);

const decoder = createFrameDecoder(availableParallelism());
const { volume } = await ingestStudy(new FolderStudySource(process.argv[2]), { decoder });
await decoder.close();
const analyzer = await loadTriageModel({
  manifestPath: process.argv[3] ?? join(root, 'models/covid-triage-demo/manifest.json'),
  executionProviders: ['cpu'],
  intraOpThreads: threads,
  batchSlices,
});
const start = performance.now();
const { measurements, timings, lungBox } = await analyzer.analyze(volume);
const ms = performance.now() - start;
await analyzer.close();
const onnxMs = timings.lungsMs + timings.backboneMs + timings.classifyMs;
process.stdout.write(
  `${JSON.stringify({
    ms,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    slices: volume.geometry.slices,
    slicesPerSecond: volume.geometry.slices / (ms / 1000),
    threads,
    batchSlices,
    stagesAndOnnxMs: {
      ...Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v)])),
      onnxMs: Math.round(onnxMs),
    },
    // The 2 mm grid the lung network saw (an axial series stored rows A→P, cols R→L, as P001).
    grid: [volume.geometry.rows, volume.geometry.columns].map((n, a) =>
      Math.floor((n * volume.geometry.spacing[1 - a]) / 2 + 0.5),
    ),
    lungBox,
    covidProbability: measurements.covidProbability,
  })}\n`,
);
