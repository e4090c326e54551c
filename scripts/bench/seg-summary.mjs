// Filter for `npm run bench:seg`: passes run-peers.mjs's output through, holding back its
// RESULT line, then prints the LABELMAP medians, file sizes and frame counts, checks both
// sides encoded the same masks, and ends with the RESULT line (ours vs peer, BINARY).
import { createInterface } from 'node:readline';
import { median } from './median.mjs';

const say = (line) => process.stdout.write(`${line}\n`);
const runs = { ours: [], peer: [] };
let resultLine;
for await (const line of createInterface({ input: process.stdin })) {
  if (line.startsWith('RESULT ')) {
    resultLine = line;
    continue;
  }
  say(line);
  const match = /^run \d+ (ours|peer)\s.*?(\{.*\})$/.exec(line);
  if (match) runs[match[1]].push(JSON.parse(match[2]));
}
if (!resultLine || runs.ours.length === 0 || runs.peer.length === 0) {
  console.error('bench:seg: run-peers.mjs gave no result');
  process.exit(1);
}
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const [ours, peer] = [runs.ours, runs.peer];
const lmOurs = median(ours.map((r) => r.labelmapMs));
const lmPeer = median(peer.map((r) => r.labelmapMs));
const sameMasks = JSON.stringify(ours[0].voxels) === JSON.stringify(peer[0].voxels);
say(
  `masks: voxels per segment ours ${ours[0].voxels.join('/')}, peer ${peer[0].voxels.join('/')} (${sameMasks ? 'same' : 'DIFFERENT'})`,
);
say(
  `BINARY   frames ours ${ours[0].binaryFrames}, peer ${peer[0].binaryFrames}; size ours ${mb(ours[0].binaryBytes)}, peer ${mb(peer[0].binaryBytes)}`,
);
say(
  `LABELMAP frames ours ${ours[0].labelmapFrames}, peer ${peer[0].labelmapFrames}; size ours ${mb(ours[0].labelmapBytes)}, peer ${mb(peer[0].labelmapBytes)}`,
);
say(
  `LABELMAP median ours ${lmOurs.toFixed(0)} ms, peer ${lmPeer.toFixed(0)} ms, ratio ${(lmOurs / lmPeer).toFixed(2)}`,
);
say(resultLine);
if (!sameMasks) process.exit(1);
