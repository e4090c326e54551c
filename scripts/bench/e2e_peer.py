"""Peer of `npm run bench:e2e`: a Python reference pipeline doing the same whole job as ours on
the same local servers, the way a hospital engineer would write it with the usual libraries:

  retrieve   requests: QIDO-RS series of the study, WADO-RS metadata of each series (as ours,
             which needs it for series selection), then the CT series (most instances) with
             one WADO-RS request, multipart/related; type="application/dicom"; transfer-syntax=*
             (the archive's own JPEG Lossless, as ours asks), split into Part 10 parts
  decode     pydicom 3 + GDCM (python-gdcm, selected explicitly), HU volume sorted along the
             slice normal (training/covid_triage/infer.py's volume_from_datasets)
  inference  training/covid_triage/infer.py (numpy + onnxruntime): the same graphs, the same
             preprocessing and postprocessing as ours (its parity test holds them equal)
  encode     highdicom: a BINARY DICOM SEG of the three segments (right lung, left lung, lesion)
             over the source series, every frame kept (as ours)
  store      STOW-RS of the SEG with requests
  fhir       one transaction Bundle POSTed with requests: Patient, ImagingStudy, Device, the
             11 Observations ours writes (probability, severity, per region: percent affected,
             lesion volume, lung volume) and the DiagnosticReport, each a conditional create

Not done here, done by ours: the DICOM SR (TID 1500) and its STOW; ours' timings split it out
(encodeSrMs, in encodeMs and storeMs). The model is loaded before the clock starts, as ours.
Usage: python e2e_peer.py STUDY_UID MANIFEST [THREADS] [BATCH]
Env: DICOMWEB_BASE_URL, DICOMWEB_USERNAME, DICOMWEB_PASSWORD, FHIR_BASE_URL. Prints one JSON line.
"""
from __future__ import annotations

import io
import json
import os
import re
import resource
import sys
import time
import uuid
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import requests
from pydicom.sr.codedict import codes

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training"))
from covid_triage import infer  # noqa: E402

study_uid, manifest = sys.argv[1], Path(sys.argv[2])
threads = int(sys.argv[3]) if len(sys.argv) > 3 else os.cpu_count()
batch = int(sys.argv[4]) if len(sys.argv) > 4 else 16
base = os.environ["DICOMWEB_BASE_URL"].rstrip("/")
fhir = os.environ["FHIR_BASE_URL"].rstrip("/")
http = requests.Session()
if os.environ.get("DICOMWEB_USERNAME"):
    http.auth = (os.environ["DICOMWEB_USERNAME"], os.environ.get("DICOMWEB_PASSWORD", ""))
fhir_http = requests.Session()

model = infer.ModelSet(manifest, threads)
model_meta = json.loads(manifest.read_text())


def multipart_parts(response: requests.Response) -> list[bytes]:
    """The bodies of a multipart/related response (RFC 2046), whole in memory."""
    boundary = re.search(r'boundary="?([^";]+)"?', response.headers["Content-Type"]).group(1).encode()
    parts = []
    for chunk in response.content.split(b"--" + boundary)[1:]:
        if chunk.startswith(b"--"):
            break
        _, _, body = chunk.partition(b"\r\n\r\n")
        parts.append(body[:-2] if body.endswith(b"\r\n") else body)
    return parts


def tag(entry: dict, keyword: str):
    value = entry.get(pydicom.datadict.tag_for_keyword(keyword).__format__("08X"), {}).get("Value")
    return value[0] if value else None


laps = {}
clock = start = time.perf_counter()


def lap(name):
    global clock
    now = time.perf_counter()
    laps[name] = laps.get(name, 0) + (now - clock) * 1000
    clock = now


# Retrieve: series-level QIDO, metadata per series, the CT series with the most instances.
series_list = http.get(f"{base}/studies/{study_uid}/series", headers={"Accept": "application/dicom+json"}).json()
candidates = []
for entry in series_list:
    series_uid = tag(entry, "SeriesInstanceUID")
    metadata = http.get(f"{base}/studies/{study_uid}/series/{series_uid}/metadata",
                        headers={"Accept": "application/dicom+json"}).json()
    if metadata and tag(metadata[0], "Modality") == "CT":
        candidates.append((len(metadata), series_uid))
series_uid = max(candidates)[1]
response = http.get(f"{base}/studies/{study_uid}/series/{series_uid}",
                    headers={"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'})
response.raise_for_status()
parts = multipart_parts(response)
del response
lap("retrieveMs")

# Decode: pydicom + GDCM into the HU volume.
datasets = [pydicom.dcmread(io.BytesIO(p)) for p in parts]
del parts
hu, geometry, series = infer.volume_from_datasets(
    datasets, series_uid, decode=lambda ds: pydicom.pixels.pixel_array(ds, decoding_plugin="gdcm"))
del datasets
lap("decodeMs")

# Inference: infer.py, the same graphs and steps as ours.
result, masks = infer.analyze(hu, geometry, model, batch)
del hu
lap("inferenceMs")

# Encode: highdicom SEG, BINARY, the three segments over the source series.
algorithm = hd.AlgorithmIdentificationSequence(
    name=model_meta["id"], version=model_meta["version"], family=codes.cid7162.ArtificialIntelligence)
descriptions = [
    hd.seg.SegmentDescription(
        segment_number=n, segment_label=label, segmented_property_category=category,
        segmented_property_type=kind, algorithm_type="AUTOMATIC", algorithm_identification=algorithm)
    for n, label, category, kind in [
        (1, "Right lung", codes.SCT.AnatomicalStructure, codes.SCT.Lung),
        (2, "Left lung", codes.SCT.AnatomicalStructure, codes.SCT.Lung),
        (3, "COVID-19 lesion", codes.SCT.MorphologicallyAbnormalStructure, codes.SCT.Lesion),
    ]
]
pixels = np.stack([masks["rightLung"], masks["leftLung"], masks["lesion"]], axis=-1).astype(np.uint8)
for ds in series:  # highdicom reads metadata only; drop the decoded pixels' cache
    ds._pixel_array = None
    # highdicom copies the patient and study modules and needs their type 2 attributes;
    # anonymised series (P001) lack some: empty, as the standard allows.
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
                    "AccessionNumber", "StudyID", "ReferringPhysicianName"):
        if keyword not in ds:
            setattr(ds, keyword, "")
seg = hd.seg.Segmentation(
    source_images=series, pixel_array=pixels, segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
    segment_descriptions=descriptions, series_instance_uid=hd.UID(), series_number=9001,
    sop_instance_uid=hd.UID(), instance_number=1, manufacturer="covid-ct-triage (Python reference)",
    manufacturer_model_name=model_meta["id"], software_versions=model_meta["version"],
    device_serial_number="0", series_description="COVID-19 triage (Python reference)", omit_empty_frames=False)
buffer = io.BytesIO()
seg.save_as(buffer)
seg_bytes = buffer.getvalue()
del pixels, buffer
lap("encodeMs")

# Store: STOW-RS of the SEG.
boundary = uuid.uuid4().hex
body = (f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + seg_bytes
        + f"\r\n--{boundary}--\r\n".encode())
stored = http.post(f"{base}/studies", data=body, headers={
    "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
    "Accept": "application/dicom+json"})
stored.raise_for_status()
lap("storeMs")

# FHIR: one transaction Bundle, conditional creates by identifier.
system = "urn:covid-ct-triage:python-reference"
first = series[0]
entries = []


def add(resource_: dict, key: str) -> str:
    full_url = f"urn:uuid:{uuid.uuid4()}"
    resource_["identifier"] = [{"system": system, "value": key}]
    entries.append({"fullUrl": full_url, "resource": resource_, "request": {
        "method": "POST", "url": resource_["resourceType"], "ifNoneExist": f"identifier={system}|{key}"}})
    return full_url


patient = add({"resourceType": "Patient"}, f"patient/{first.get('PatientID', '')}")
imaging_study = add({"resourceType": "ImagingStudy", "status": "available", "subject": {"reference": patient}},
                    f"study/{study_uid}")
device = add({"resourceType": "Device", "deviceName": [{"name": model_meta["name"], "type": "model-name"}],
              "version": [{"value": model_meta["version"]}]}, f"model/{model_meta['id']}/{model_meta['version']}")
report_key = f"report/{study_uid}/{series_uid}/{model_meta['id']}/{model_meta['version']}"
issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
loinc = "http://loinc.org"


def observation(name: str, text: str, value: float, unit: str, code: str) -> dict:
    return {"reference": add({
        "resourceType": "Observation", "status": "preliminary",
        "code": {"coding": [{"system": loinc, "code": code}], "text": text},
        "subject": {"reference": patient}, "issued": issued, "device": {"reference": device},
        "derivedFrom": [{"reference": imaging_study}],
        "valueQuantity": {"value": round(value, 2), "unit": unit, "system": "http://unitsofmeasure.org",
                          "code": unit}}, f"{report_key}/{name}")}


results = [observation("covid-probability", "Probability of COVID-19", result["covidProbability"] * 100, "%",
                       "LA-probability"),
           observation("severity", "COVID-19 CT severity", result["severityPercent"], "%", "LA-severity")]
for lung in result["lungs"]:
    region = lung["region"]
    results += [
        observation(f"lung-percent-affected/{region}", f"Percent of {region} lung affected",
                    lung["percentAffected"], "%", "LA-percent"),
        observation(f"lung-lesion-volume/{region}", f"Lesion volume, {region}", lung["lesionVolumeMl"], "mL",
                    "LA-lesion-volume"),
        observation(f"lung-volume/{region}", f"Volume of {region}", lung["lungVolumeMl"], "mL", "LA-volume"),
    ]
add({"resourceType": "DiagnosticReport", "status": "preliminary",
     "code": {"text": "CT chest: AI COVID-19 triage"}, "subject": {"reference": patient}, "issued": issued,
     "imagingStudy": [{"reference": imaging_study}], "result": results}, report_key)
answer = fhir_http.post(fhir, json={"resourceType": "Bundle", "type": "transaction", "entry": entries},
                        headers={"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"})
answer.raise_for_status()
lap("fhirMs")

ms = (time.perf_counter() - start) * 1000
print(json.dumps({
    "ms": ms, **{k: round(v, 1) for k, v in laps.items()},
    "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "slices": len(series), "segBytes": len(seg_bytes), "fhirEntries": len(entries),
    "covidProbability": result["covidProbability"], "inference": result["timings"],
}))
