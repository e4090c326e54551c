// `npm run bench:ingest`: the contenders run alternately, N rounds (ours on 2 threads, ours on
// 1, pydicom + GDCM, pydicom + pylibjpeg, then again), so that machine noise hits all alike.
// Each prints one JSON line {ms, peakRssMb, ...}. Prints every run, the medians and, last,
// RESULT ingest_ms=<ours, 2 threads> ingest_1t_ms=… gdcm_ms=… pylibjpeg_ms=…
//        ratio=<ours 2t / GDCM> ratio_1t=<ours 1t / GDCM> ratio_pylibjpeg=<ours 2t / pylibjpeg>.
import { execSync } from 'node:child_process';
import { median } from './median.mjs';

const say = (line) => process.stdout.write(`${line}\n`);
const [runs, series] = process.argv.slice(2);

const contenders = {
  ours_2t: `BENCH_DECODE_THREADS=2 node scripts/bench/ingest-ours.mjs ${series}`,
  ours_1t: `BENCH_DECODE_THREADS=1 node scripts/bench/ingest-ours.mjs ${series}`,
  gdcm: `python scripts/bench/ingest_peer.py ${series} gdcm`,
  pylibjpeg: `python scripts/bench/ingest_peer.py ${series} pylibjpeg`,
};

const results = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]));
for (let run = 1; run <= Number(runs); run++) {
  for (const [name, command] of Object.entries(contenders)) {
    const output = execSync(command, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const result = JSON.parse(output.trim().split('\n').at(-1));
    results[name].push(result);
    say(
      `run ${run} ${name.padEnd(9)} ${result.ms.toFixed(0).padStart(6)} ms  peak RSS ${result.peakRssMb.toFixed(0)} MB  ${JSON.stringify(result)}`,
    );
  }
}
const ms = {};
for (const [name, list] of Object.entries(results)) {
  ms[name] = median(list.map((r) => r.ms));
  const rss = median(list.map((r) => r.peakRssMb));
  const decode = list[0].decodeMs === undefined ? '' : `, decode ${median(list.map((r) => r.decodeMs)).toFixed(0)} ms`;
  say(`median ${name.padEnd(9)} ${ms[name].toFixed(0)} ms${decode}, peak RSS ${rss.toFixed(0)} MB`);
}
const ratio = (a, b) => (ms[a] / ms[b]).toFixed(2);
say(
  `RESULT ingest_ms=${ms.ours_2t.toFixed(0)} ingest_1t_ms=${ms.ours_1t.toFixed(0)} gdcm_ms=${ms.gdcm.toFixed(0)} ` +
    `pylibjpeg_ms=${ms.pylibjpeg.toFixed(0)} ratio=${ratio('ours_2t', 'gdcm')} ratio_1t=${ratio('ours_1t', 'gdcm')} ` +
    `ratio_pylibjpeg=${ratio('ours_2t', 'pylibjpeg')}`,
);
