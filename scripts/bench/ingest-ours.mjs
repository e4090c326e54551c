// Ours in `npm run bench:ingest`: the same work as ingest_peer.py through the product's
// ingest (the built dist/), one JSON line with in-process time and peak RSS.
import { availableParallelism } from 'node:os';
import { createFrameDecoder } from '../../dist/libs/dicom/src/index.js';
import { FolderStudySource, ingestStudy } from '../../dist/libs/ingest/src/index.js';

// As the CLI and the worker run it: one decoding thread per core (BENCH_DECODE_THREADS overrides).
const decoder = createFrameDecoder(Number(process.env.BENCH_DECODE_THREADS ?? availableParallelism()));
const start = performance.now();
const study = await ingestStudy(new FolderStudySource(process.argv[2]), { decoder });
const ms = performance.now() - start;
await decoder.close();
const { geometry, huRange } = study.volume;
const peakRssMb = process.resourceUsage().maxRSS / 1024;
process.stdout.write(
  `${JSON.stringify({ ms, peakRssMb, threads: decoder.threads, slices: geometry.slices, min: huRange.min, max: huRange.max })}\n`,
);
