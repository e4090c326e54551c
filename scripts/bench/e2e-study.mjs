// One study of `npm run bench:e2e` in a fresh process: the real pipeline (the built dist/)
// with the worker's own adapters — DICOMweb study source, STOW archive writer, FHIR server
// report writer — on the local stack. Prints one JSON line: the step timings, the retrieve /
// decode split of fetchStudy, and the process's peak RSS. The model is loaded once, before the
// clock starts, as the worker does at start-up.
import { availableParallelism } from 'node:os';
import { loadConfigFromEnvironment } from '../../dist/libs/config/src/index.js';
import { createFrameDecoder } from '../../dist/libs/dicom/src/index.js';
import { httpAuthProvider } from '../../dist/libs/credentials/src/index.js';
import { createDicomwebClient } from '../../dist/libs/dicomweb/src/index.js';
import { createFhirTransactionClient } from '../../dist/libs/fhir/src/index.js';
import { loadTriageModel } from '../../dist/libs/inference/src/index.js';
import { DicomwebStudySource } from '../../dist/libs/ingest/src/index.js';
import { DicomwebArchiveSink, FhirReportSink, runTriage } from '../../dist/libs/pipeline/src/index.js';

const studyInstanceUid = process.argv[2];
const config = loadConfigFromEnvironment();

/**
 * Splits fetchStudy's wall time: the time ingest waits on the archive (QIDO, metadata and
 * each WADO instance) is "retrieve"; the rest of the step (decoding, assembly) is "decode".
 */
class TimedSource {
  retrieveMs = 0;
  bytes = 0;
  constructor(inner) {
    this.inner = inner;
  }
  get label() {
    return this.inner.label;
  }
  async inventory() {
    const start = performance.now();
    try {
      return await this.inner.inventory();
    } finally {
      this.retrieveMs += performance.now() - start;
    }
  }
  async *instances(series) {
    const iterator = this.inner.instances(series)[Symbol.asyncIterator]();
    for (;;) {
      const start = performance.now();
      const next = await iterator.next();
      this.retrieveMs += performance.now() - start;
      if (next.done) return;
      yield next.value;
    }
  }
}

const analyzer = await loadTriageModel({
  manifestPath: config.inference.manifestPath,
  executionProviders: config.inference.executionProviders,
  batchSlices: config.inference.batchSlices,
  ...(config.inference.intraOpThreads === undefined ? {} : { intraOpThreads: config.inference.intraOpThreads }),
});
const dicomweb = createDicomwebClient({
  baseUrl: config.dicomweb.baseUrl,
  auth: httpAuthProvider(config.dicomweb.auth, { settings: 'DICOMWEB' }),
  timeoutMs: config.dicomweb.timeoutMs,
});
const reports = new FhirReportSink(
  createFhirTransactionClient({ baseUrl: config.fhir.baseUrl, timeoutMs: config.fhir.timeoutMs }),
  config.fhir.baseUrl,
);
const decoder = createFrameDecoder(availableParallelism());
const source = new TimedSource(new DicomwebStudySource(dicomweb, studyInstanceUid));

const start = performance.now();
const outcome = await runTriage(
  { source },
  { analyzer, archive: new DicomwebArchiveSink(dicomweb), reports },
  { identifierSystem: config.fhir.identifierSystem, decoder },
);
const ms = performance.now() - start;
await decoder.close();
await analyzer.close();

const t = outcome.timings;
process.stdout.write(
  `${JSON.stringify({
    ms,
    retrieveMs: source.retrieveMs,
    decodeMs: t.fetchStudyMs - source.retrieveMs,
    inferenceMs: t.analyzeMs,
    encodeMs: t.encodeSegMs + t.encodeSrMs,
    encodeSrMs: t.encodeSrMs,
    storeMs: t.storeObjectsMs,
    fhirMs: t.writeReportMs,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    slices: outcome.series.slices,
    voxels: outcome.series.slices * outcome.series.rows * outcome.series.columns,
    created: outcome.report.created,
    duplicateSeg: outcome.segmentation.duplicate,
    inference: t.inference,
  })}\n`,
);
