"""Peer of `npm run bench:inference`: the same study through training/covid_triage/infer.py
(numpy + onnxruntime, the same model set, threads and batch). Reading the DICOM (pydicom) and
creating the sessions are not timed. Prints one JSON line like inference-ours.mjs.
Usage: python inference_peer.py SERIES_DIR [MANIFEST, default the demo set]"""
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training"))
from covid_triage import infer  # noqa: E402

threads = int(os.environ.get("BENCH_THREADS", os.cpu_count()))
batch = int(os.environ.get("BENCH_BATCH", 16))
hu, geometry = infer.load_dicom(Path(sys.argv[1]))
manifest = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "models" / "covid-triage-demo" / "manifest.json"
model = infer.ModelSet(manifest, threads)
start = time.perf_counter()
result, _ = infer.analyze(hu, geometry, model, batch)
ms = (time.perf_counter() - start) * 1000
timings = result["timings"]
onnx_ms = timings["lungsMs"] + timings["backboneMs"] + timings["classifyMs"]
print(json.dumps({
    "ms": ms,
    "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "slices": int(hu.shape[0]),
    "slicesPerSecond": hu.shape[0] / (ms / 1000),
    "threads": threads,
    "batchSlices": batch,
    "stagesAndOnnxMs": {**{k: round(v) for k, v in timings.items()}, "onnxMs": round(onnx_ms)},
    "covidProbability": result["covidProbability"],
}))
