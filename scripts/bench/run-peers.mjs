// Runs two commands alternately N times (ours, then the peer, then ours, ...) so that
// machine noise hits both alike; each prints one JSON line {ms, peakRssMb, ...}.
// Prints every run, the medians, and a last line: RESULT <ours>=<ms> <peer>=<ms> ratio=<ours/peer>.
import { execSync } from 'node:child_process';
import { median } from './median.mjs';

const say = (line) => process.stdout.write(`${line}\n`);

const [runs, oursName, oursCmd, peerName, peerCmd, oursKey, peerKey] = process.argv.slice(2);
const results = { [oursName]: [], [peerName]: [] };
for (let run = 1; run <= Number(runs); run++) {
  for (const [name, command] of [
    [oursName, oursCmd],
    [peerName, peerCmd],
  ]) {
    const output = execSync(command, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const result = JSON.parse(output.trim().split('\n').at(-1));
    results[name].push(result);
    say(
      `run ${run} ${name.padEnd(5)} ${result.ms.toFixed(0).padStart(6)} ms  peak RSS ${result.peakRssMb.toFixed(0)} MB  ${JSON.stringify(result)}`,
    );
  }
}
const summary = Object.fromEntries(
  Object.entries(results).map(([name, list]) => [
    name,
    { ms: median(list.map((r) => r.ms)), rss: median(list.map((r) => r.peakRssMb)) },
  ]),
);
for (const [name, { ms, rss }] of Object.entries(summary))
  say(`median ${name.padEnd(5)} ${ms.toFixed(0)} ms, peak RSS ${rss.toFixed(0)} MB`);
const ours = summary[oursName].ms;
const peer = summary[peerName].ms;
say(`memory ratio (ours/peer, peak RSS) ${(summary[oursName].rss / summary[peerName].rss).toFixed(2)}`);
say(`RESULT ${oursKey}=${ours.toFixed(0)} ${peerKey}=${peer.toFixed(0)} ratio=${(ours / peer).toFixed(2)}`);
