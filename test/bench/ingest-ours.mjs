// Ours in `npm run bench:ingest`: the same work as ingest_peer.py through the product's
// ingest (the built dist/), one JSON line with in-process time and peak RSS.
import { FolderStudySource, ingestStudy } from '../../dist/libs/ingest/src/index.js';

const start = performance.now();
const study = await ingestStudy(new FolderStudySource(process.argv[2]));
const ms = performance.now() - start;
const { geometry, huRange } = study.volume;
const peakRssMb = process.resourceUsage().maxRSS / 1024;
process.stdout.write(
  `${JSON.stringify({ ms, peakRssMb, slices: geometry.slices, min: huRange.min, max: huRange.max })}\n`,
);
