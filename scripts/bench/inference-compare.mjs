// `npm run bench:inference`: for each model set (the shipped demo, width 0.25, and a paper-size
// set, width 1.0, random weights), ours (inference-ours.mjs, onnxruntime-node) and the Python
// peer (inference_peer.py, infer.py + onnxruntime) on the same HU volume and the same graphs,
// alternating N rounds (demo ours, demo peer, paper ours, paper peer, then again), so that machine
// noise hits all alike. Each prints one JSON line {ms, peakRssMb, ...}. Then the FLOP-bound
// estimate of each set (model_flops.py on P001's real 2 mm grid and lung box): FLOPs per slice,
// what ours achieved per stage, and the CPU's peak. Prints every run, the medians and, last,
// RESULT inference_ms=<demo, ours> peer_ms=… ratio=<ours/peer> slices_per_s=… peer_slices_per_s=…
//        paper_ms=… paper_peer_ms=… paper_ratio=… paper_slices_per_s=… paper_peer_slices_per_s=…
//        paper_gflop_per_study=… paper_achieved_gflops=… peak_gflops=…
// Usage: node inference-compare.mjs RUNS SERIES DEMO_MANIFEST PAPER_MANIFEST PYTHON
import { execFileSync, execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { median } from './median.mjs';

const say = (line) => process.stdout.write(`${line}\n`);
const [runs, series, demo, paper, python] = process.argv.slice(2);
const sets = { demo, paper };
const contenders = Object.entries(sets).flatMap(([set, manifest]) => [
  [`${set}_ours`, `node scripts/bench/inference-ours.mjs ${series} ${manifest}`],
  [`${set}_peer`, `${python} scripts/bench/inference_peer.py ${series} ${manifest}`],
]);

const results = Object.fromEntries(contenders.map(([name]) => [name, []]));
for (let run = 1; run <= Number(runs); run++) {
  for (const [name, command] of contenders) {
    const output = execSync(command, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const result = JSON.parse(output.trim().split('\n').at(-1));
    results[name].push(result);
    const stages = Object.entries(result.stagesAndOnnxMs)
      .map(([k, v]) => `${k.replace('Ms', '')} ${v}`)
      .join(' ');
    say(
      `run ${run} ${name.padEnd(10)} ${result.ms.toFixed(0).padStart(6)} ms  ${result.slicesPerSecond.toFixed(1)} slices/s  ` +
        `peak RSS ${result.peakRssMb.toFixed(0)} MB  ${stages}  P(COVID) ${result.covidProbability.toFixed(6)}`,
    );
  }
}

const med = (name, key) => median(results[name].map((r) => r[key]));
const stage = (name, key) => median(results[name].map((r) => r.stagesAndOnnxMs[key]));
for (const name of Object.keys(results)) {
  say(
    `median ${name.padEnd(10)} ${med(name, 'ms').toFixed(0)} ms, ${med(name, 'slicesPerSecond').toFixed(1)} slices/s ` +
      `(lungs ${stage(name, 'lungsMs')}, backbone ${stage(name, 'backboneMs')}, pre ${stage(name, 'preprocessMs')}, ` +
      `post ${stage(name, 'postprocessMs')} ms), peak RSS ${med(name, 'peakRssMb').toFixed(0)} MB`,
  );
}

// The FLOP bound: FLOPs per slice from the graphs, at the grid and box ours saw.
const { grid, lungBox, slices } = results.demo_ours[0];
const box = [lungBox.rows[1] - lungBox.rows[0], lungBox.cols[1] - lungBox.cols[0]];
const boxSlices = lungBox.slices[1] - lungBox.slices[0];
const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
const flags = new Set(
  cpuinfo
    .match(/^flags\s*:(.*)$/m)?.[1]
    .trim()
    .split(/\s+/) ?? [],
);
const cores = (cpuinfo.match(/^processor\s*:/gm) ?? []).length;
const mhz = Number(cpuinfo.match(/^cpu MHz\s*:\s*([\d.]+)/m)?.[1] ?? 0);
const lanes = flags.has('avx512f') ? 16 : flags.has('avx2') ? 8 : 4;
// fp32 FLOPs per cycle per core: 2 FMA pipes × lanes × 2 (multiply + add); an upper bound (Zen 4
// splits 512-bit operations in two; Zen 5 and recent Xeons have two full 512-bit FMA pipes).
const peakGflops = (cores * 2 * lanes * 2 * mhz) / 1000;
say(
  `CPU: ${cores} cores at ${mhz.toFixed(0)} MHz (cpu MHz, /proc/cpuinfo), ${lanes} fp32 lanes ` +
    `(${flags.has('avx512f') ? 'AVX-512' : flags.has('avx2') ? 'AVX2' : 'SSE'}${flags.has('fma') ? ', FMA' : ''}): ` +
    `peak ≈ ${peakGflops.toFixed(0)} GFLOP/s fp32 (2 FMA pipes per core assumed)`,
);
const bound = {};
for (const [set, manifest] of Object.entries(sets)) {
  const out = execFileSync(
    python,
    ['scripts/bench/model_flops.py', manifest, String(grid[0]), String(grid[1]), String(box[0]), String(box[1])],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const f = JSON.parse(out.trim().split('\n').at(-1));
  const lungsGflop = (f.lungs.flops * slices) / 1e9;
  const backboneGflop = (f.backbone_seg.flops * boxSlices) / 1e9;
  const studyGflop = lungsGflop + backboneGflop + f.cls_mlp.flops / 1e9;
  const ours = `${set}_ours`;
  const lungsRate = lungsGflop / (stage(ours, 'lungsMs') / 1000);
  const backboneRate = backboneGflop / (stage(ours, 'backboneMs') / 1000);
  const achieved = studyGflop / (stage(ours, 'onnxMs') / 1000);
  bound[set] = { studyGflop, achieved };
  say(
    `FLOPs ${set} (width ${f.width}): lungs ${(f.lungs.flops / 1e9).toFixed(2)} GFLOP/slice on ${grid.join('×')} × ${slices} slices ` +
      `= ${lungsGflop.toFixed(0)} GFLOP; backbone ${(f.backbone_seg.flops / 1e9).toFixed(2)} GFLOP/slice on the box ${box.join('×')} × ` +
      `${boxSlices} = ${backboneGflop.toFixed(0)} GFLOP; cls_mlp ${(f.cls_mlp.flops / 1e6).toFixed(1)} MFLOP; ` +
      `${studyGflop.toFixed(0)} GFLOP per study. Ours achieved: lungs ${lungsRate.toFixed(1)}, backbone ${backboneRate.toFixed(1)}, ` +
      `all ONNX ${achieved.toFixed(1)} GFLOP/s = ${((100 * achieved) / peakGflops).toFixed(1)} % of peak; ` +
      `at peak the study's ONNX work takes ${((1000 * studyGflop) / peakGflops).toFixed(0)} ms`,
  );
}

const ms = (name) => med(name, 'ms').toFixed(0);
const sps = (name) => med(name, 'slicesPerSecond').toFixed(1);
const ratio = (set) => (med(`${set}_ours`, 'ms') / med(`${set}_peer`, 'ms')).toFixed(2);
say(
  `RESULT inference_ms=${ms('demo_ours')} peer_ms=${ms('demo_peer')} ratio=${ratio('demo')} ` +
    `slices_per_s=${sps('demo_ours')} peer_slices_per_s=${sps('demo_peer')} ` +
    `paper_ms=${ms('paper_ours')} paper_peer_ms=${ms('paper_peer')} paper_ratio=${ratio('paper')} ` +
    `paper_slices_per_s=${sps('paper_ours')} paper_peer_slices_per_s=${sps('paper_peer')} ` +
    `paper_gflop_per_study=${bound.paper.studyGflop.toFixed(0)} paper_achieved_gflops=${bound.paper.achieved.toFixed(1)} ` +
    `peak_gflops=${peakGflops.toFixed(0)}`,
);
