// npm run bench:memory (see scripts/bench/memory.sh): the real worker's resident memory on the
// largest real CT series under the data folder and on that series resampled to each slice count
// of BENCH_MEMORY_SLICES (default "600,80": a thin-slice 600-slice study, and a small one that
// shows the per-study cost that does not grow with voxels), each at WORKER_MEMORY_BUDGET_MB = the
// default 4096 and = the study's estimate + 1 (the smallest budget that admits it). Every run is
// a fresh copy (new UIDs) stored in Orthanc, announced on fresh topics to a freshly started
// worker, and deleted afterwards. Per run: idle RSS (VmRSS once ready), the start-up high-water
// mark, and the peak (VmHWM read after TriageCompleted, before the worker stops); then a second
// copy on the same, warm worker (what a study adds once the first has warmed it up). The peer in
// the same run: ingest_peer.py (pydicom + numpy) loading the same series into a volume.
// Prints every run, a table of medians, and last: RESULT peak_rss_mb=… peer_peak_rss_mb=… ratio=….
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { BYTES_PER_VOXEL, MemoryBudget } from '../../dist/apps/worker/src/memory-budget.js';
import { deleteStudy, storeInstances } from './e2e-archive.mjs';
import { BenchWorker } from './e2e-worker-run.mjs';
import { median } from './median.mjs';
import { ctSeriesUnder, freshCopy, planSeries } from './memory-series.mjs';

const [dataRoot, cacheDir] = process.argv.slice(2);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SLICE_COUNTS = (process.env.BENCH_MEMORY_SLICES ?? '600,80').split(',').map(Number);
const DEFAULT_BUDGET_MB = 4096;
const SETTLE_MS = 3_000;
const log = (line) => void process.stdout.write(`${line}\n`);
const mb = (value) => value.toFixed(0);

const found = ctSeriesUnder(dataRoot);
if (found.length === 0) throw new Error(`no DICOM CT series under ${dataRoot}`);
log(`DICOM CT series under ${dataRoot} (largest first):`);
for (const s of found) {
  log(
    `  ${relative(dataRoot, s.files[0]).split('/').slice(0, -1).join('/')}  ${s.slices} × ${s.rows} × ${s.columns} = ${s.voxels} voxels`,
  );
}
const largest = found[0];
const largestName = relative(dataRoot, largest.files[0]).split('/').slice(0, -1).join('/');
const studies = [
  { name: `${largestName} (largest real)`, key: 'largest', plan: planSeries(largest.files) },
  ...SLICE_COUNTS.map((slices) => ({
    name: `${largestName} resampled to ${slices} slices`,
    key: `slices${slices}`,
    plan: planSeries(largest.files, { slices }),
  })),
];

const estimator = new MemoryBudget(DEFAULT_BUDGET_MB);
const scratch = mkdtempSync(join(tmpdir(), 'bench-memory-'));
const logDir = join(cacheDir, 'bench', 'memory');
mkdirSync(logDir, { recursive: true });
log(`worker logs in ${logDir}; the peer's copies of the series in ${scratch} (deleted at the end)`);

/**
 * One worker process at one budget: a fresh copy of the study on a fresh worker ("cold": idle RSS
 * once ready, peak after the answer), then a second fresh copy on the same, now warm, worker with
 * its high-water mark reset first ("warm": peak − RSS before it), which separates what the first
 * study leaves behind for good (ONNX Runtime's arena, allocator heaps) from what each study costs.
 */
async function workerRun(study, budgetMb, label) {
  const stored = [];
  try {
    for (const copy of ['cold', 'warm'])
      stored.push(await storeInstances(freshCopy(study.plan, `bench:memory ${label} ${copy}`)));
    const worker = await BenchWorker.start({
      name: 'memory',
      logFile: join(logDir, `${label.replaceAll(/[^\w.-]+/g, '_')}.log`),
      partitions: 1,
      env: { WORKER_MEMORY_BUDGET_MB: String(budgetMb), WORKER_CONCURRENCY: '1' },
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      const idle = worker.memory();
      const triage = (uid) => worker.triage([uid], { source: 'bench:memory', timeoutMs: 1_800_000 });
      const outcome = await triage(stored[0].studyInstanceUid);
      const after = worker.memory();
      worker.resetPeak();
      const beforeWarm = worker.memory();
      const warm = await triage(stored[1].studyInstanceUid);
      const afterWarm = worker.memory();
      return {
        ms: outcome.ms,
        completed: outcome.completed === 1 && warm.completed === 1,
        failure: outcome.failed[0] ?? warm.failed[0],
        idleRssMb: idle.rssMb,
        startupPeakMb: idle.peakRssMb,
        peakRssMb: after.peakRssMb,
        rssAfterMb: after.rssMb,
        warmBeforeMb: beforeWarm.rssMb,
        warmDeltaMb: afterWarm.peakRssMb - beforeWarm.rssMb,
      };
    } finally {
      await worker.stop();
    }
  } finally {
    for (const { orthancId } of stored) {
      await deleteStudy(orthancId).catch((error) => log(`  could not delete study ${orthancId}: ${error}`));
    }
  }
}

function peerRun(folder) {
  const output = execFileSync('python', ['scripts/bench/ingest_peer.py', folder], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(output.trim().split('\n').at(-1));
}

const summary = [];
try {
  for (const study of studies) {
    const voxels = study.plan.length * largest.rows * largest.columns;
    const estimateMb = estimator.estimateMb({ seriesInstanceUid: study.key, voxels });
    const budgets = [DEFAULT_BUDGET_MB, estimateMb + 1];
    const peerFolder = join(scratch, study.key);
    mkdirSync(peerFolder);
    freshCopy(study.plan).forEach((bytes, n) => writeFileSync(join(peerFolder, `${n}.dcm`), bytes));
    log(
      `\n${study.name}: ${study.plan.length} × ${largest.rows} × ${largest.columns} = ${voxels} voxels; ` +
        `estimate ${estimateMb} MB (${BYTES_PER_VOXEL} bytes/voxel); budgets ${budgets.join(' and ')} MB`,
    );
    const runs = new Map(budgets.map((budget) => [budget, []]));
    const peer = [];
    for (let run = 1; run <= RUNS; run++) {
      for (const budget of budgets) {
        const result = await workerRun(study, budget, `${study.key}-budget${budget}-run${run}`);
        runs.get(budget).push(result);
        log(
          `run ${run} ours budget ${String(budget).padStart(5)} MB: ${result.completed ? 'completed' : `FAILED ${result.failure}`} ` +
            `in ${(result.ms / 1000).toFixed(1)} s; idle ${mb(result.idleRssMb)} MB (start-up peak ${mb(result.startupPeakMb)}), ` +
            `peak ${mb(result.peakRssMb)} MB, peak − idle ${mb(result.peakRssMb - result.idleRssMb)} MB, after ${mb(result.rssAfterMb)} MB; ` +
            `warm: a second copy from ${mb(result.warmBeforeMb)} MB adds ${mb(result.warmDeltaMb)} MB`,
        );
      }
      const p = peerRun(peerFolder);
      peer.push(p);
      log(`run ${run} peer (pydicom + numpy volume): ${(p.ms / 1000).toFixed(1)} s, peak ${mb(p.peakRssMb)} MB`);
    }
    const peerPeakMb = median(peer.map((p) => p.peakRssMb));
    for (const budget of budgets) {
      const list = runs.get(budget);
      const m = (key) => median(list.map((r) => r[key]));
      const row = {
        study: study.name,
        voxels,
        estimateMb,
        budgetMb: budget,
        completed: list.filter((r) => r.completed).length,
        runs: list.length,
        idleRssMb: m('idleRssMb'),
        startupPeakMb: m('startupPeakMb'),
        peakRssMb: m('peakRssMb'),
        deltaMb: median(list.map((r) => r.peakRssMb - r.idleRssMb)),
        maxDeltaMb: Math.max(...list.map((r) => r.peakRssMb - r.idleRssMb)),
        warmDeltaMb: m('warmDeltaMb'),
        maxWarmDeltaMb: Math.max(...list.map((r) => r.warmDeltaMb)),
        ms: m('ms'),
        peerPeakMb,
      };
      summary.push(row);
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

log('\nmedians (MB = 2^20 bytes; estimate = MemoryBudget.estimateMb):');
log(
  '| study | voxels | budget MB | estimate MB | idle RSS MB | peak RSS MB | peak − idle MB | ≤ estimate | peak ≤ budget | bytes/voxel | warm: study adds MB | ≤ estimate | peer peak MB | ours/peer | completed | s per study |',
);
log('| --- | --: | --: | --: | --: | --: | --: | :-: | :-: | --: | --: | :-: | --: | --: | :-: | --: |');
for (const r of summary) {
  const perVoxel = (r.deltaMb * 2 ** 20) / r.voxels;
  log(
    `| ${r.study} | ${r.voxels} | ${r.budgetMb} | ${r.estimateMb} | ${mb(r.idleRssMb)} | ${mb(r.peakRssMb)} | ${mb(r.deltaMb)} | ` +
      `${r.deltaMb <= r.estimateMb ? 'yes' : 'NO'} | ${r.peakRssMb <= r.budgetMb ? 'yes' : 'NO'} | ${perVoxel.toFixed(1)} | ` +
      `${mb(r.warmDeltaMb)} | ${r.warmDeltaMb <= r.estimateMb ? 'yes' : 'NO'} | ` +
      `${mb(r.peerPeakMb)} | ${(r.peakRssMb / r.peerPeakMb).toFixed(2)} | ${r.completed}/${r.runs} | ${(r.ms / 1000).toFixed(0)} |`,
  );
}
const worst = summary.reduce((a, b) =>
  (a.maxDeltaMb * 2 ** 20) / a.voxels > (b.maxDeltaMb * 2 ** 20) / b.voxels ? a : b,
);
const worstPerVoxel = (worst.maxDeltaMb * 2 ** 20) / worst.voxels;
const over = summary.filter((r) => r.deltaMb > r.estimateMb);
log(
  over.length === 0
    ? `the estimate holds: peak − idle within MemoryBudget.estimateMb in every row (worst single run ${worstPerVoxel.toFixed(1)} bytes/voxel of ${BYTES_PER_VOXEL}, ${worst.study}, budget ${worst.budgetMb})`
    : `FINDING: peak − idle exceeds the estimate in ${over.length} row(s); worst single run ${worstPerVoxel.toFixed(1)} bytes/voxel ` +
        `(${worst.study}, budget ${worst.budgetMb}): BYTES_PER_VOXEL would need to be at least ${Math.ceil(worstPerVoxel)} (now ${BYTES_PER_VOXEL})`,
);
// MB ≈ fixed + perVoxel × voxels, least squares over every row: what a per-voxel-only estimate misses.
function fit(key) {
  const n = summary.length;
  const bytes = (r) => r[key] * 2 ** 20;
  const mx = summary.reduce((t, r) => t + r.voxels, 0) / n;
  const my = summary.reduce((t, r) => t + bytes(r), 0) / n;
  const slope =
    summary.reduce((t, r) => t + (r.voxels - mx) * (bytes(r) - my), 0) /
    summary.reduce((t, r) => t + (r.voxels - mx) ** 2, 0);
  return `${mb((my - slope * mx) / 2 ** 20)} MB + ${slope.toFixed(1)} bytes/voxel`;
}
if (new Set(summary.map((r) => r.voxels)).size > 1) {
  log(
    `fit over the rows: a fresh worker's first study (peak − idle) ≈ ${fit('deltaMb')}; a warm worker's study ≈ ${fit('warmDeltaMb')}`,
  );
}
const warmOver = summary.filter((r) => r.maxWarmDeltaMb > r.estimateMb);
log(
  warmOver.length === 0
    ? 'on a warm worker every single run stayed within the estimate'
    : `on a warm worker ${warmOver.length} row(s) had a run above the estimate`,
);
const main = summary.find((r) => r.study.endsWith(` ${SLICE_COUNTS[0]} slices`) && r.budgetMb === DEFAULT_BUDGET_MB);
const real = summary.find((r) => r.study.includes('largest real') && r.budgetMb === DEFAULT_BUDGET_MB);
log(
  `RESULT peak_rss_mb=${mb(main.peakRssMb)} peer_peak_rss_mb=${mb(main.peerPeakMb)} ratio=${(main.peakRssMb / main.peerPeakMb).toFixed(2)} ` +
    `estimate_mb=${main.estimateMb} peak_minus_idle_mb=${mb(main.deltaMb)} largest_real_peak_rss_mb=${mb(real.peakRssMb)} ` +
    `within_estimate=${over.length === 0 ? 'yes' : 'no'}`,
);
