"""Reads a DICOM SEG with two readers this project did not write and reports what they see.

    python read_seg.py SEG OUT_DIR SOURCES_JSON

SOURCES_JSON lists the source slices in volume order, {"slices": [{"sop": UID, "frame": N or null}]}.
Writes to OUT_DIR:
  result.json               what pydicom and highdicom read (header, frames, segments, geometry)
  pydicom_frames.u8         pydicom's pixel_array, frames x rows x columns, uint8 (1-bit frames unpacked)
  highdicom_by_source.u8    highdicom's masks per source slice: segments x slices x rows x columns, uint8,
                            found through each frame's referenced source SOP instance (and frame)
  highdicom_volume.u8       highdicom's spatial volume: segments x slices x rows x columns, uint8, found
                            through the per-frame positions; its affine is in result.json
The test compares these with the masks it wrote: this script only reads and reports.
"""
import json
import sys
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom


def code(item):
    return {"value": item.CodeValue, "scheme": item.CodingSchemeDesignator, "meaning": item.CodeMeaning}


def first(item, keyword):
    seq = item.get(keyword)
    return seq[0] if seq else None


def read_pydicom(path, out_dir):
    ds = pydicom.dcmread(path)
    shared = ds.SharedFunctionalGroupsSequence[0]
    frames = []
    for item in ds.PerFrameFunctionalGroupsSequence:
        source = item.DerivationImageSequence[0].SourceImageSequence[0]
        identification = first(item, "SegmentIdentificationSequence")
        frames.append({
            "segment": int(identification.ReferencedSegmentNumber) if identification else None,
            "position": [float(v) for v in item.PlanePositionSequence[0].ImagePositionPatient],
            "sourceSop": source.ReferencedSOPInstanceUID,
            "sourceFrame": int(source.ReferencedFrameNumber) if "ReferencedFrameNumber" in source else None,
            "purpose": code(source.PurposeOfReferenceCodeSequence[0]),
            "derivation": code(item.DerivationImageSequence[0].DerivationCodeSequence[0]),
            "dimensionIndexValues": [int(v) for v in np.atleast_1d(item.FrameContentSequence[0].DimensionIndexValues)],
        })
    segments = []
    for segment in ds.SegmentSequence:
        type_item = segment.SegmentedPropertyTypeCodeSequence[0]
        modifier = first(type_item, "SegmentedPropertyTypeModifierCodeSequence")
        algorithm = first(segment, "SegmentationAlgorithmIdentificationSequence")
        segments.append({
            "number": int(segment.SegmentNumber),
            "label": segment.SegmentLabel,
            "category": code(segment.SegmentedPropertyCategoryCodeSequence[0]),
            "type": code(type_item),
            "modifier": code(modifier) if modifier else None,
            "algorithmType": segment.SegmentAlgorithmType,
            "algorithmName": segment.get("SegmentAlgorithmName"),
            "family": code(algorithm.AlgorithmFamilyCodeSequence[0]) if algorithm else None,
        })
    pixels = ds.pixel_array
    if pixels.ndim == 2:
        pixels = pixels[np.newaxis]
    np.ascontiguousarray(pixels, dtype=np.uint8).tofile(out_dir / "pydicom_frames.u8")
    patient_keywords = ["PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID",
                        "StudyDate", "StudyTime", "AccessionNumber", "StudyID", "ReferringPhysicianName"]
    return {
        "sopClassUid": ds.SOPClassUID,
        "sopInstanceUid": ds.SOPInstanceUID,
        "seriesInstanceUid": ds.SeriesInstanceUID,
        "transferSyntaxUid": ds.file_meta.TransferSyntaxUID,
        "segmentationType": ds.SegmentationType,
        "rows": int(ds.Rows),
        "columns": int(ds.Columns),
        "numberOfFrames": int(ds.NumberOfFrames),
        "bitsAllocated": int(ds.BitsAllocated),
        "pixelShape": list(pixels.shape),
        "frameOfReferenceUid": ds.FrameOfReferenceUID,
        "imageOrientation": [float(v) for v in shared.PlaneOrientationSequence[0].ImageOrientationPatient],
        "pixelSpacing": [float(v) for v in shared.PixelMeasuresSequence[0].PixelSpacing],
        "frames": frames,
        "segments": segments,
        "referencedSeries": [
            {"seriesInstanceUid": s.SeriesInstanceUID,
             "instances": [i.ReferencedSOPInstanceUID for i in s.ReferencedInstanceSequence]}
            for s in ds.ReferencedSeriesSequence
        ],
        # Present (even empty) or absent, and the value as text.
        "patientStudy": {k: (str(ds[k].value) if k in ds else None) for k in patient_keywords},
        "seriesDescription": ds.get("SeriesDescription"),
        "contentLabel": ds.get("ContentLabel"),
        "contentDescription": ds.get("ContentDescription"),
        "equipment": {k: str(ds.get(k)) for k in ["Manufacturer", "ManufacturerModelName", "DeviceSerialNumber", "SoftwareVersions"]},
    }


def read_highdicom(path, out_dir, slices):
    seg = hd.seg.segread(path)
    numbers = [int(s.SegmentNumber) for s in seg.SegmentSequence if int(s.SegmentNumber) > 0]
    common = {"segment_numbers": numbers, "combine_segments": False, "assert_missing_frames_are_empty": True}
    if slices[0]["frame"] is None:
        by_source = seg.get_pixels_by_source_instance(
            source_sop_instance_uids=[s["sop"] for s in slices], **common)
    else:
        by_source = seg.get_pixels_by_source_frame(
            source_sop_instance_uid=slices[0]["sop"], source_frame_numbers=[s["frame"] for s in slices], **common)
    # (slices, rows, columns, segments) -> (segments, slices, rows, columns)
    np.ascontiguousarray(np.moveaxis(by_source, -1, 0), dtype=np.uint8).tofile(out_dir / "highdicom_by_source.u8")

    volume = seg.get_volume(segment_numbers=numbers, combine_segments=False)
    np.ascontiguousarray(np.moveaxis(volume.array, -1, 0), dtype=np.uint8).tofile(out_dir / "highdicom_volume.u8")
    return {
        "segmentNumbers": numbers,
        "segmentationType": seg.segmentation_type.value,
        "bySourceShape": [by_source.shape[-1], *by_source.shape[:-1]],
        "volumeShape": [volume.array.shape[-1], *volume.array.shape[:-1]],
        # Maps (slice, row, column, 1) of the volume array to patient coordinates (LPS, mm).
        "volumeAffine": volume.affine.tolist(),
    }


def main():
    seg_path, out_dir, sources = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    out_dir.mkdir(parents=True, exist_ok=True)
    slices = json.loads(sources.read_text())["slices"]
    result = {
        "versions": {"pydicom": pydicom.__version__, "highdicom": hd.__version__},
        "pydicom": read_pydicom(seg_path, out_dir),
        "highdicom": read_highdicom(seg_path, out_dir, slices),
    }
    (out_dir / "result.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
