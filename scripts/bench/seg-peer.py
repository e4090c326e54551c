"""Peer of `npm run bench:seg`: highdicom encodes the same three-segment 512x512x148 masks as
seg-ours.mjs, BINARY and LABELMAP, every frame kept (as ours by default), to Part 10 bytes.
Source datasets (pydicom, metadata only, same geometry and UIDs) and the masks are built
before the clock starts; a small warm-up encode of each type runs first. The LABELMAP timing
includes merging the masks into labels (lesion wins), which ours does inside its encode.
Prints one JSON line."""
import io
import json
import resource
import time

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sr.codedict import codes
from pydicom.uid import ExplicitVRLittleEndian

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"


def uid(n):
    return f"2.25.{1000000 + n}"  # the same UIDs as ours


def sources(size, slices):
    """Metadata of a single-frame CT series with the geometry of the real P001 series."""
    out = []
    for k in range(slices):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID = CT_IMAGE
        ds.SOPInstanceUID = uid(100 + k)
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = uid(1), uid(2), uid(3)
        ds.Modality = "CT"
        ds.PatientID, ds.PatientName, ds.PatientBirthDate, ds.PatientSex = "BENCH", "", "", ""
        ds.StudyDate, ds.StudyTime, ds.AccessionNumber, ds.StudyID, ds.ReferringPhysicianName = "", "", "", "", ""
        ds.Rows = ds.Columns = size
        ds.PixelSpacing = [0.75, 0.75]
        ds.SliceThickness = 2.0
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [-191.625, -191.625, -346.1 + 2 * k]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        out.append(ds)
    return out


def ellipsoid(size, slices, centre, radii):
    """Integer arithmetic only, the same voxels as seg-ours.mjs draws."""
    k, j, i = np.ogrid[:slices, :size, :size]
    ci, cj, ck = centre
    ri, rj, rk = radii
    a, b, c = rj * rj * rk * rk, ri * ri * rk * rk, ri * ri * rj * rj
    return ((i - ci) ** 2 * a + (j - cj) ** 2 * b + (k - ck) ** 2 * c) <= ri * ri * rj * rj * rk * rk


def masks(size, slices):
    s, t = size / 512, slices / 148
    r = lambda v, f: int(np.floor(v * f + 0.5))  # noqa: E731 (rounds half up, as JS Math.round)
    lung = (r(80, s), r(150, s), r(62, t))
    return np.stack([
        ellipsoid(size, slices, (r(348, s), r(256, s), r(74, t)), lung),
        ellipsoid(size, slices, (r(164, s), r(256, s), r(74, t)), lung),
        ellipsoid(size, slices, (r(370, s), r(220, s), r(80, t)), (r(40, s), r(40, s), r(15, t))),
    ], axis=-1).astype(np.uint8)


ALGORITHM = hd.AlgorithmIdentificationSequence(
    name="bench model", version="1", family=codes.cid7162.ArtificialIntelligence)
DESCRIPTIONS = [
    hd.seg.SegmentDescription(
        segment_number=n, segment_label=label, segmented_property_category=category,
        segmented_property_type=kind, algorithm_type="AUTOMATIC", algorithm_identification=ALGORITHM)
    for n, label, category, kind in [
        (1, "Left lung", codes.SCT.AnatomicalStructure, codes.SCT.Lung),
        (2, "Right lung", codes.SCT.AnatomicalStructure, codes.SCT.Lung),
        (3, "COVID-19 lesion", codes.SCT.MorphologicallyAbnormalStructure, codes.SCT.Lesion),
    ]
]


def encode(source_images, stacked, segmentation_type):
    start = time.perf_counter()
    if segmentation_type == "LABELMAP":
        pixels = np.zeros(stacked.shape[:-1], np.uint8)
        for s in range(stacked.shape[-1]):
            pixels[stacked[..., s] > 0] = s + 1  # the later segment (the lesion) wins
    else:
        pixels = stacked
    seg = hd.seg.Segmentation(
        source_images=source_images, pixel_array=pixels, segmentation_type=segmentation_type,
        segment_descriptions=DESCRIPTIONS, series_instance_uid=uid(4), series_number=9001,
        sop_instance_uid=uid(5 if segmentation_type == "BINARY" else 6), instance_number=1,
        manufacturer="bench", manufacturer_model_name="bench", software_versions="1",
        device_serial_number="1", omit_empty_frames=False)
    buffer = io.BytesIO()
    seg.save_as(buffer)
    return (time.perf_counter() - start) * 1000, len(buffer.getvalue()), int(seg.NumberOfFrames)


SIZE, SLICES = 512, 148
small_sources, small = sources(64, 16), masks(64, 16)
encode(small_sources, small, "BINARY")
encode(small_sources, small, "LABELMAP")
big_sources, big = sources(SIZE, SLICES), masks(SIZE, SLICES)
binary_ms, binary_bytes, binary_frames = encode(big_sources, big, "BINARY")
labelmap_ms, labelmap_bytes, labelmap_frames = encode(big_sources, big, "LABELMAP")
print(json.dumps({
    "ms": binary_ms, "labelmapMs": labelmap_ms,
    "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "binaryBytes": binary_bytes, "labelmapBytes": labelmap_bytes,
    "binaryFrames": binary_frames, "labelmapFrames": labelmap_frames,
    "voxels": [int(big[..., s].sum()) for s in range(big.shape[-1])],
}))
