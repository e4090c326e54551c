"""Reads a DICOM SEG with highdicom and reports each segment's voxel count and the voxel volume.

    python read_seg_volumes.py SEG

Prints JSON: {"segments": [{"number", "label", "voxels"}], "voxelMl", "shape",
"referencedSeries", "studyInstanceUid"}. The `triage analyze` test multiplies the counts by
the voxel volume and compares them with the volumes the command reported: this only reads.
"""
import json
import sys

import highdicom as hd
import numpy as np


def main(path):
    seg = hd.seg.segread(path)
    volume = seg.get_volume(combine_segments=False)
    counts = volume.array.reshape(-1, volume.array.shape[-1]).astype(np.int64).sum(axis=0)
    numbers = [item.SegmentNumber for item in seg.SegmentSequence]
    referenced = [series.SeriesInstanceUID for series in seg.ReferencedSeriesSequence]
    print(json.dumps({
        "segments": [
            {"number": n, "label": item.SegmentLabel, "voxels": int(counts[i])}
            for i, (n, item) in enumerate(zip(numbers, seg.SegmentSequence))
        ],
        # |det| of the voxel-to-patient matrix: mm³ per voxel, here in mL.
        "voxelMl": float(abs(np.linalg.det(volume.affine[:3, :3])) / 1000),
        "shape": list(volume.array.shape),
        "referencedSeries": referenced,
        "studyInstanceUid": seg.StudyInstanceUID,
    }))


if __name__ == "__main__":
    main(sys.argv[1])
