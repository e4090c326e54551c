// npm run bench:e2e (see scripts/bench/e2e.sh). Part 1, per-study latency, for each model set
// (BENCH_MODELS, default the demo set and the paper-size set): fresh copies of the real series,
// alternately triaged by ours in a fresh process through the pipeline with the worker's adapters
// (e2e-study.mjs: retrieve, decode, inference, encode, store and FHIR) and by the Python
// reference pipeline (e2e_peer.py: requests, pydicom + GDCM, infer.py + onnxruntime, highdicom
// SEG, a FHIR transaction with requests) on the same servers. Part 2, memory: for each set, the
// real worker (a fresh process) triages one fresh copy and its peak RSS (VmHWM, as bench:memory
// reads it) is set against the goal, 3 × the HU volume + the model's graphs; its time from the
// StudyAvailable event to TriageCompleted is the issue's "event → TriageCompleted". Part 3, throughput:
// BENCH_QUEUED more fresh copies queued at once on Kafka for the real worker with the demo set.
// Prints every run, the medians, and last:
// RESULT e2e_ms=<demo, ours> peer_ms=… ratio=… paper_e2e_ms=… paper_peer_ms=… paper_ratio=…
//        worker_peak_rss_mb=… rss_goal_mb=… event_to_completed_ms=… paper_worker_peak_rss_mb=… … studies_per_hour=…
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { copyStudy, deleteStudy, storeSeries } from './e2e-archive.mjs';
import { BenchWorker, runThroughWorker } from './e2e-worker-run.mjs';
import { median } from './median.mjs';

const [series, cacheDir, ...manifestArgs] = process.argv.slice(2);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const QUEUED = Number(process.env.BENCH_QUEUED ?? 10);
const CONCURRENCY = Number(process.env.BENCH_WORKER_CONCURRENCY ?? 1);
const PYTHON = process.env.BENCH_PYTHON ?? 'python';
const sets = Object.fromEntries(manifestArgs.map((arg) => arg.split('=')));
const log = (line) => void process.stdout.write(`${line}\n`);
const STEPS = ['retrieveMs', 'decodeMs', 'inferenceMs', 'encodeMs', 'storeMs', 'fhirMs'];
const steps = (run) => STEPS.map((s) => `${s.replace('Ms', '')} ${run[s].toFixed(0)}`).join('  ');
const modelBytes = (manifest) =>
  JSON.parse(readFileSync(manifest, 'utf8')).graphs.reduce(
    (sum, g) => sum + statSync(join(dirname(manifest), g.file)).size,
    0,
  );

const original = await storeSeries(series);
const setNames = Object.keys(sets);
const perStudy = RUNS * setNames.length * 2;
log(
  `stored ${original.instances} instances of ${series} in the archive; making ${perStudy + setNames.length + QUEUED} copies of the study`,
);
const copies = [];
try {
  for (let n = 0; n < perStudy + setNames.length + QUEUED; n++)
    copies.push(await copyStudy(original.orthancId, `${Date.now()}-${n}`));
  const next = () => copies[next.n++];
  next.n = 0;

  // Part 1: one study at a time, each in its own process, ours and the peer alternating.
  const runs = Object.fromEntries(
    setNames.flatMap((set) => [
      [`${set}_ours`, []],
      [`${set}_peer`, []],
    ]),
  );
  for (let run = 1; run <= RUNS; run++) {
    for (const [set, manifest] of Object.entries(sets)) {
      for (const side of ['ours', 'peer']) {
        const uid = next().studyInstanceUid;
        const [command, args, env] =
          side === 'ours'
            ? ['node', ['scripts/bench/e2e-study.mjs', uid], { ...process.env, MODEL_MANIFEST: manifest }]
            : [
                PYTHON,
                [
                  'scripts/bench/e2e_peer.py',
                  uid,
                  manifest,
                  String(process.env.INFERENCE_THREADS ?? 2),
                  String(process.env.INFERENCE_BATCH_SLICES ?? 16),
                ],
                process.env,
              ];
        const output = execFileSync(command, args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'inherit'] });
        const result = JSON.parse(output.trim().split('\n').at(-1));
        runs[`${set}_${side}`].push(result);
        log(
          `run ${run} ${`${set}_${side}`.padEnd(10)} ${result.ms.toFixed(0).padStart(6)} ms  ${steps(result)}  ` +
            `peak RSS ${result.peakRssMb.toFixed(0)} MB  (${result.slices} slices)`,
        );
      }
    }
  }
  const m = (name, key) => median(runs[name].map((r) => r[key]));
  for (const name of Object.keys(runs)) {
    log(
      `median ${name.padEnd(10)} ${m(name, 'ms').toFixed(0)} ms: ` +
        STEPS.map((s) => `${s.replace('Ms', '')} ${m(name, s).toFixed(0)}`).join(', ') +
        `; peak RSS ${m(name, 'peakRssMb').toFixed(0)} MB (model included)`,
    );
  }
  for (const set of setNames) {
    const last = runs[`${set}_ours`].at(-1);
    log(
      `${set} ours, inference breakdown (last run): ${Object.entries(last.inference)
        .map(([k, v]) => `${k.replace('Ms', '')} ${v.toFixed(0)}`)
        .join(', ')}; SR encode ${last.encodeSrMs?.toFixed(0) ?? '?'} ms (the peer writes no SR)`,
    );
  }

  // Part 2: the real worker's peak RSS for one study, per model set, against the goal.
  mkdirSync(join(cacheDir, 'bench'), { recursive: true });
  const memory = {};
  const voxels = runs[`${setNames[0]}_ours`][0].voxels;
  for (const [set, manifest] of Object.entries(sets)) {
    const worker = await BenchWorker.start({
      name: `e2e-memory-${set}`,
      logFile: join(cacheDir, 'bench', `e2e-memory-${set}.log`),
      partitions: 1,
      env: { MODEL_MANIFEST: manifest, WORKER_CONCURRENCY: '1' },
    });
    try {
      const idle = worker.memory();
      const outcome = await worker.triage([next().studyInstanceUid], { source: 'bench:e2e', timeoutMs: 1_800_000 });
      const peak = worker.memory().peakRssMb;
      const huMb = (voxels * 2) / 2 ** 20;
      const graphsMb = modelBytes(manifest) / 2 ** 20;
      memory[set] = { peak, goal: 3 * huMb + graphsMb, ms: outcome.ms };
      log(
        `memory ${set}: the worker ${outcome.completed === 1 ? 'completed' : `FAILED ${outcome.failed[0]}`} one study (event → TriageCompleted ${(outcome.ms / 1000).toFixed(1)} s); idle ${idle.rssMb.toFixed(0)} MB, ` +
          `peak ${peak.toFixed(0)} MB; goal 3 × HU volume (${huMb.toFixed(0)} MB, int16) + graphs (${graphsMb.toFixed(0)} MB) = ` +
          `${memory[set].goal.toFixed(0)} MB: ${(peak / memory[set].goal).toFixed(2)} × the goal`,
      );
    } finally {
      await worker.stop();
    }
  }

  // Part 3: QUEUED studies queued at once for the worker (the demo set).
  const logFile = join(cacheDir, 'bench', 'e2e-worker.log');
  const queued = copies.slice(next.n, next.n + QUEUED).map((c) => c.studyInstanceUid);
  let perHour = NaN;
  if (queued.length) {
    log(
      `throughput: ${queued.length} studies queued on Kafka for the worker (concurrency ${CONCURRENCY}; log ${logFile})`,
    );
    const worker = await runThroughWorker(queued, { logFile, concurrency: CONCURRENCY });
    perHour = (worker.completed * 3_600_000) / worker.ms;
    log(
      `worker: ${worker.completed} completed, ${worker.failed.length} failed in ${(worker.ms / 1000).toFixed(1)} s ` +
        `(${(worker.ms / queued.length / 1000).toFixed(1)} s per study); peak RSS ${worker.peakRssMb.toFixed(0)} MB`,
    );
    for (const failure of worker.failed) log(`  failed: ${String(failure)}`);
  }
  const pair = (set, prefix, oursKey) =>
    `${prefix}${oursKey}=${m(`${set}_ours`, 'ms').toFixed(0)} ${prefix}peer_ms=${m(`${set}_peer`, 'ms').toFixed(0)} ` +
    `${prefix}ratio=${(m(`${set}_ours`, 'ms') / m(`${set}_peer`, 'ms')).toFixed(2)}`;
  const rss = (set, prefix) =>
    `${prefix}worker_peak_rss_mb=${memory[set].peak.toFixed(0)} ${prefix}rss_goal_mb=${memory[set].goal.toFixed(0)} ` +
    `${prefix}event_to_completed_ms=${memory[set].ms.toFixed(0)}`;
  log(
    `RESULT ${setNames.map((set, i) => pair(set, i ? `${set}_` : '', 'e2e_ms')).join(' ')} ` +
      `${setNames.map((set, i) => rss(set, i ? `${set}_` : '')).join(' ')} studies_per_hour=${perHour.toFixed(1)}`,
  );
} finally {
  for (const copy of copies) await deleteStudy(copy.orthancId).catch(() => undefined);
}
