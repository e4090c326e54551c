"""Peer of `npm run bench:ingest`: pydicom 3 + numpy build the same HU volume as our ingest:
read every file of the folder, keep the CT images, sort by ImagePositionPatient along the
slice normal, decode, rescale. The JPEG decoder is pydicom's plugin named by the second
argument, selected explicitly: `gdcm` (python-gdcm) or `pylibjpeg` (the default, as the
memory bench has always used). Prints one JSON line."""
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pydicom

plugin = sys.argv[2] if len(sys.argv) > 2 else "pylibjpeg"
start = time.perf_counter()
datasets = []
for path in sorted(Path(sys.argv[1]).rglob("*")):
    if not path.is_file():
        continue
    try:
        ds = pydicom.dcmread(path)
    except pydicom.errors.InvalidDicomError:
        continue
    if ds.get("Modality") == "CT":
        datasets.append(ds)
orientation = np.array(datasets[0].ImageOrientationPatient, dtype=float)
normal = np.cross(orientation[:3], orientation[3:])
datasets.sort(key=lambda ds: float(np.dot(normal, np.array(ds.ImagePositionPatient, dtype=float))))
volume = np.empty((len(datasets), datasets[0].Rows, datasets[0].Columns), dtype=np.int16)
decode_s = 0.0
for k, ds in enumerate(datasets):
    before = time.perf_counter()
    # Not ds.pixel_array: that silently falls back to another plugin when the named one is missing.
    stored = pydicom.pixels.pixel_array(ds, decoding_plugin=plugin)
    decode_s += time.perf_counter() - before
    volume[k] = stored * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
elapsed_ms = (time.perf_counter() - start) * 1000
peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"ms": elapsed_ms, "decodeMs": decode_s * 1000, "peakRssMb": peak_rss_mb, "plugin": plugin, "slices": len(datasets), "min": int(volume.min()), "max": int(volume.max())}))
