// npm run bench:e2e (see scripts/bench/e2e.sh). Part 1, per-study latency: fresh copies of the
// real series, each triaged in a fresh process through the pipeline with the worker's adapters
// (e2e-study.mjs): retrieve, decode, inference, encode, store and FHIR, and peak RSS. Part 2,
// throughput: more fresh copies queued at once on Kafka for the real worker (e2e-worker-run.mjs).
// Prints every run, the medians, and last: RESULT e2e_ms=<per study> studies_per_hour=<n>.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { copyStudy, deleteStudy, storeSeries } from './e2e-archive.mjs';
import { runThroughWorker } from './e2e-worker-run.mjs';
import { median } from './median.mjs';

const [series, cacheDir] = process.argv.slice(2);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const QUEUED = Number(process.env.BENCH_QUEUED ?? 10);
const CONCURRENCY = Number(process.env.BENCH_WORKER_CONCURRENCY ?? 1);
const log = (line) => void process.stdout.write(`${line}\n`);

const original = await storeSeries(series);
log(`stored ${original.instances} instances of ${series} in the archive; making ${RUNS + QUEUED} copies of the study`);
const copies = [];
try {
  for (let n = 0; n < RUNS + QUEUED; n++) copies.push(await copyStudy(original.orthancId, `${Date.now()}-${n}`));

  // Part 1: one study at a time, each in its own process.
  const runs = [];
  for (const [n, copy] of copies.slice(0, RUNS).entries()) {
    const output = execFileSync('node', ['scripts/bench/e2e-study.mjs', copy.studyInstanceUid], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const run = JSON.parse(output.trim().split('\n').at(-1));
    runs.push(run);
    const steps = ['retrieveMs', 'decodeMs', 'inferenceMs', 'encodeMs', 'storeMs', 'fhirMs'];
    log(
      `run ${n + 1} ${run.ms.toFixed(0).padStart(6)} ms  ` +
        steps.map((s) => `${s.replace('Ms', '')} ${run[s].toFixed(0)}`).join('  ') +
        `  peak RSS ${run.peakRssMb.toFixed(0)} MB  (${run.slices} slices, new report: ${run.created})`,
    );
  }
  const m = (key) => median(runs.map((r) => r[key]));
  log(
    `median per study ${m('ms').toFixed(0)} ms: retrieve ${m('retrieveMs').toFixed(0)}, decode ${m('decodeMs').toFixed(0)}, ` +
      `inference ${m('inferenceMs').toFixed(0)}, encode ${m('encodeMs').toFixed(0)}, store ${m('storeMs').toFixed(0)}, ` +
      `FHIR ${m('fhirMs').toFixed(0)}; peak RSS ${m('peakRssMb').toFixed(0)} MB (model included)`,
  );
  const inference = runs.at(-1).inference;
  log(
    `inference breakdown (last run): ${Object.entries(inference)
      .map(([k, v]) => `${k.replace('Ms', '')} ${v.toFixed(0)}`)
      .join(', ')}`,
  );

  // Part 2: QUEUED studies queued at once for the worker.
  mkdirSync(join(cacheDir, 'bench'), { recursive: true });
  const logFile = join(cacheDir, 'bench', 'e2e-worker.log');
  const queued = copies.slice(RUNS).map((c) => c.studyInstanceUid);
  log(
    `throughput: ${queued.length} studies queued on Kafka for the worker (concurrency ${CONCURRENCY}; log ${logFile})`,
  );
  const worker = await runThroughWorker(queued, { logFile, concurrency: CONCURRENCY });
  const perHour = (worker.completed * 3_600_000) / worker.ms;
  log(
    `worker: ${worker.completed} completed, ${worker.failed.length} failed in ${(worker.ms / 1000).toFixed(1)} s ` +
      `(${(worker.ms / queued.length / 1000).toFixed(1)} s per study); peak RSS ${worker.peakRssMb.toFixed(0)} MB`,
  );
  for (const failure of worker.failed) log(`  failed: ${String(failure)}`);
  log(`RESULT e2e_ms=${m('ms').toFixed(0)} studies_per_hour=${perHour.toFixed(1)}`);
} finally {
  for (const copy of copies) await deleteStudy(copy.orthancId).catch(() => undefined);
}
