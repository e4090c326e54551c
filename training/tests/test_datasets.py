"""Dataset loaders: published layouts written as tiny synthetic files, the orientation contract
(rows anterior->posterior, cols patient right->left, slices head->feet), HU handling, errors."""
from __future__ import annotations

import logging
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from covid_triage.datasets import (DATASETS, AnatomyCheckError, GeometryError, IntensityError, LayoutError,
                                   MaskAlignmentError, MaskShapeError, MissingFileError, OrientationError,
                                   open_dataset)
from covid_triage.datasets import dicom, nifti
from covid_triage.datasets.dicom import scan_folder
from dataset_writers import SPACING, chest, nifti_image, save_dicom_series, save_nifti

HU, LUNGS, LESION = chest()

# storage permutation + flips -> name; every one must load to the same contract array
NIFTI_ORIENTATIONS = {
    "RAS (nibabel canonical)": ((1, 0, 2), (True, True, True)),
    "LPS (ITK/DICOM-like)": ((1, 0, 2), (False, False, True)),
    "LAS (dcm2niix-like)": ((1, 0, 2), (False, True, True)),
    "PLI (contract itself)": ((0, 1, 2), (False, False, False)),
    "transposed SAR": ((2, 0, 1), (True, True, True)),
    "transposed IRP, mixed flips": ((2, 1, 0), (False, True, False)),
}


@pytest.mark.parametrize("name", NIFTI_ORIENTATIONS)
def test_every_nifti_orientation_loads_to_the_same_array(tmp_path, name):
    perm, flips = NIFTI_ORIENTATIONS[name]
    path = save_nifti(tmp_path / "v.nii.gz", HU, perm=perm, flips=flips)
    loaded, info = nifti.read_contract(path)
    np.testing.assert_array_equal(loaded, HU)
    assert info.spacing == pytest.approx(SPACING)


def test_ras_marker_at_right_anterior_superior_lands_at_index_zero(tmp_path):
    """Independent of the test writer: a plain RAS affine, where i grows to the patient's
    right, j anterior, k superior."""
    data = np.zeros((5, 6, 7), dtype=np.int16)
    data[-1, -1, -1] = 1      # most right, anterior, superior
    data[0, 0, 0] = 2         # most left, posterior, inferior
    nib.save(nib.Nifti1Image(data, np.diag([0.5, 0.6, 2.0, 1.0])), str(tmp_path / "ras.nii"))
    loaded, info = nifti.read_contract(tmp_path / "ras.nii")
    assert loaded.shape == (6, 5, 7)                          # rows from j (A/P), cols from i (R/L)
    assert loaded[0, 0, 0] == 1 and loaded[-1, -1, -1] == 2
    assert info.spacing == pytest.approx((0.6, 0.5, 2.0))


def test_dicom_marker_at_first_pixel_of_top_slice_lands_at_index_zero(tmp_path):
    """Standard axial DICOM: pixel (0, 0) is the patient's right-anterior corner and the slice
    with the highest z is the most superior."""
    hu = np.full((4, 5, 3), -1000.0, dtype=np.float32)
    hu[0, 0, 0] = 500.0
    save_dicom_series(tmp_path / "s", hu, spacing=(1.0, 1.0, 3.0))
    loaded, spacing = dicom.load_series(scan_folder(tmp_path / "s"))
    assert loaded[0, 0, 0] == 500.0 and loaded.sum() == 500.0 - 1000.0 * (hu.size - 1)
    assert spacing == pytest.approx((1.0, 1.0, 3.0))


@pytest.mark.parametrize("row_dir,col_dir,slope,intercept", [
    ((1, 0, 0), (0, 1, 0), 1.0, -1024.0),      # standard, unsigned storage
    ((1, 0, 0), (0, -1, 0), 1.0, 0.0),         # rows flipped, signed storage
    ((-1, 0, 0), (0, 1, 0), 2.0, -2048.0),     # columns flipped, slope 2
    ((0, 1, 0), (1, 0, 0), 1.0, -1024.0),      # transposed in-plane axes
])
def test_every_dicom_orientation_loads_to_the_same_array(tmp_path, row_dir, col_dir, slope, intercept):
    hu = np.rint(HU / 2) * 2   # even HU, exactly representable with slope 2
    save_dicom_series(tmp_path / "s", hu, row_dir=row_dir, col_dir=col_dir, slope=slope, intercept=intercept)
    loaded, spacing = dicom.load_series(scan_folder(tmp_path / "s"))
    np.testing.assert_array_equal(loaded, hu)
    assert spacing == pytest.approx(SPACING)


@pytest.mark.parametrize("kwargs,error,text", [
    ({"iop_override": [1, 0, 0, 0, 0, -1]}, OrientationError, "non-axial"),
    ({"shift_per_slice": (0.0, 1.5, 0.0)}, GeometryError, "gantry tilt"),
    ({"skip_slices": (4,)}, GeometryError, "uneven slice spacing"),
])
def test_dicom_geometry_errors_name_the_problem(tmp_path, kwargs, error, text):
    save_dicom_series(tmp_path / "s", HU, **kwargs)
    with pytest.raises(error, match=text):
        dicom.load_series(scan_folder(tmp_path / "s"))


def test_dicom_duplicate_slice_is_refused(tmp_path):
    save_dicom_series(tmp_path / "s", HU)
    first = sorted((tmp_path / "s").iterdir())[0]
    (tmp_path / "s" / "copy.dcm").write_bytes(first.read_bytes())
    with pytest.raises(GeometryError, match="same position"):
        dicom.load_series(scan_folder(tmp_path / "s"))


def test_nifti_header_errors(tmp_path):
    oblique = np.eye(4)
    oblique[:2, :2] = [[np.cos(0.4), -np.sin(0.4)], [np.sin(0.4), np.cos(0.4)]]
    nib.save(nib.Nifti1Image(HU.astype(np.int16), oblique), str(tmp_path / "oblique.nii"))
    with pytest.raises(OrientationError, match="oblique"):
        nifti.inspect(tmp_path / "oblique.nii")

    img = nifti_image(HU)
    flipped = img.affine.copy()
    flipped[:, 0] *= -1
    img.set_qform(flipped, code=1)
    nib.save(img, str(tmp_path / "disagree.nii"))
    with pytest.raises(OrientationError, match="sform says"):
        nifti.inspect(tmp_path / "disagree.nii")

    img = nifti_image(HU)
    img.set_qform(None, code=0)
    img.set_sform(None, code=0)
    nib.save(img, str(tmp_path / "bare.nii"))
    with pytest.raises(OrientationError, match="neither sform nor qform"):
        nifti.inspect(tmp_path / "bare.nii")


def _mosmed(root: Path) -> Path:
    studies = root / "COVID19_1110" / "studies"
    save_nifti(studies / "CT-0" / "study_0001.nii.gz", HU)
    save_nifti(studies / "CT-0" / "study_0002.nii.gz", HU, perm=(0, 1, 2), flips=(False, False, False))
    save_nifti(studies / "CT-1" / "study_0255.nii.gz", HU, perm=(1, 0, 2), flips=(False, False, True))
    save_nifti(studies / "CT-1" / "study_0256.nii.gz", HU)
    save_nifti(studies / "CT-3" / "study_1064.nii.gz", HU)
    save_nifti(root / "COVID19_1110" / "masks" / "study_0255_mask.nii.gz", LESION.astype(np.uint8), dtype=np.uint8)
    save_nifti(root / "COVID19_1110" / "masks" / "study_0999_mask.nii.gz", LESION.astype(np.uint8), dtype=np.uint8)
    (studies / "CT-2").mkdir()
    (studies / "CT-2" / "study_0939.nii.gz").write_bytes(b"not a nifti file")
    return root / "COVID19_1110"


def test_mosmed_listing_labels_masks_and_skips(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="covid_triage.datasets"):
        refs = open_dataset("mosmed", _mosmed(tmp_path))
    by_id = {r.id: r for r in refs}
    assert sorted(by_id) == ["study_0001", "study_0002", "study_0255", "study_0256", "study_1064"]
    assert [by_id[i].covid for i in sorted(by_id)] == [0, 0, 1, 1, 1]
    assert by_id["study_0001"].kind == "normal" and by_id["study_1064"].kind == "covid"
    assert [r.id for r in refs if r.has_lesion_mask] == ["study_0255"]
    assert sorted((s.case, s.error) for s in refs.skipped) == [("study_0939", "UnreadableFileError"),
                                                               ("study_0999", "MissingFileError")]
    assert "study_0256 has no mask" in caplog.text   # published masks cover 0255..0304

    study = by_id["study_0255"].load()                # image LAS, mask RAS: aligned via world coords
    np.testing.assert_array_equal(study.hu, HU)
    np.testing.assert_array_equal(study.lesion_mask, LESION)
    assert study.hu.dtype == np.float32 and study.spacing == pytest.approx(SPACING)
    assert study.lung_mask is None and study.hu_window is None
    with pytest.raises(Exception, match="not a readable NIfTI"):
        open_dataset("mosmed", tmp_path / "COVID19_1110", strict=True)


def test_mosmed_scaled_nifti_is_hu_and_raw_values_are_refused(tmp_path):
    img = nifti_image(HU + 1024, dtype=np.uint16)     # stored 0..4095-like, scl_inter restores HU
    img.header.set_slope_inter(1.0, -1024.0)
    (tmp_path / "studies" / "CT-0").mkdir(parents=True)
    nib.save(img, str(tmp_path / "studies" / "CT-0" / "study_0001.nii.gz"))
    save_nifti(tmp_path / "studies" / "CT-0" / "study_0002.nii.gz", HU + 1024, dtype=np.uint16)
    refs = {r.id: r for r in open_dataset("mosmed", tmp_path)}
    np.testing.assert_array_equal(refs["study_0001"].load().hu, HU)
    with pytest.raises(IntensityError, match="not HU"):
        refs["study_0002"].load()


def test_upside_down_header_is_caught(tmp_path):
    """A header that lies about anterior/posterior: the spine ends up in front."""
    save_nifti(tmp_path / "studies" / "CT-0" / "study_0001.nii.gz", HU[::-1])
    with pytest.raises(AnatomyCheckError, match="upside down"):
        open_dataset("mosmed", tmp_path)[0].load()


def _published_lung_labels(ours: np.ndarray) -> np.ndarray:
    """Ours: 1 right, 2 left -> COVID-19-CT-Seg Lung_Mask: 1 left, 2 right."""
    return np.where(ours == 1, 2, np.where(ours == 2, 1, 0)).astype(np.uint8)


def _windowed(hu: np.ndarray) -> np.ndarray:
    return np.rint((np.clip(hu, -1250, 250) + 1250) / 1500 * 255)


def _covid_ct_seg(root: Path) -> Path:
    images = root / "COVID-19-CT-Seg_20cases"
    lungs, infection = _published_lung_labels(LUNGS), LESION.astype(np.uint8)
    save_nifti(images / "coronacases_001.nii.gz", HU)
    save_nifti(images / "coronacases_002.nii.gz", HU)
    # published defect (authors' prepare_medseg.py): image rows flipped vs masks; case 7 also slices
    save_nifti(images / "radiopaedia_4_85506_1.nii.gz", _windowed(HU)[::-1], dtype=np.uint8)
    save_nifti(images / "radiopaedia_org_covid-19-pneumonia-7_85703_0-dcm.nii", _windowed(HU)[::-1, :, ::-1],
               dtype=np.uint8)
    for cid in ("coronacases_001", "coronacases_002", "radiopaedia_4_85506_1", "radiopaedia_7_85703_0"):
        save_nifti(root / "Lung_Mask" / f"{cid}.nii.gz", lungs, perm=(0, 1, 2), flips=(False, False, False),
                   dtype=np.uint8)
        if cid != "coronacases_002":
            save_nifti(root / "Infection_Mask" / f"{cid}.nii.gz", infection, dtype=np.uint8)
    return root


def test_covid_ct_seg_windowed_cases_labels_and_published_flips(tmp_path):
    refs = open_dataset("covid_ct_seg", _covid_ct_seg(tmp_path))
    assert sorted(r.id for r in refs) == ["coronacases_001", "radiopaedia_4_85506_1", "radiopaedia_7_85703_0"]
    assert all(r.covid == 1 and r.has_lesion_mask and r.has_lung_mask for r in refs)
    assert [(s.case, s.error) for s in refs.skipped] == [("coronacases_002", "MissingFileError")]
    for ref in refs:
        study = ref.load()
        np.testing.assert_array_equal(study.lesion_mask, LESION)
        np.testing.assert_array_equal(study.lung_mask, LUNGS)          # 1 = right = low columns
        if ref.id.startswith("radiopaedia"):
            assert study.hu_window == (-1250.0, 250.0)
            np.testing.assert_allclose(study.hu, np.clip(HU, -1250, 250), atol=1500 / 255 / 2 + 1e-3)
        else:
            assert study.hu_window is None
            np.testing.assert_array_equal(study.hu, HU)
    with pytest.raises(MissingFileError, match="no infection mask"):
        open_dataset("covid_ct_seg", tmp_path, strict=True)


def test_covid_ct_seg_swapped_lung_sides_are_refused(tmp_path):
    save_nifti(tmp_path / "COVID-19-CT-Seg_20cases" / "coronacases_001.nii.gz", HU)
    save_nifti(tmp_path / "Lung_Mask" / "coronacases_001.nii.gz", LUNGS, dtype=np.uint8)  # ours, not published
    save_nifti(tmp_path / "Infection_Mask" / "coronacases_001.nii.gz", LESION.astype(np.uint8), dtype=np.uint8)
    with pytest.raises(MaskAlignmentError, match="right must be at lower columns"):
        open_dataset("covid_ct_seg", tmp_path)[0].load()


def test_medseg_volumes_lesion_labels_slice_set_and_errors(tmp_path):
    lesion_labels = LESION.astype(np.uint8)
    lesion_labels[9, 1, 0] = 3                                     # pleural effusion: not a lesion
    for n in ("1", "2", "3", "4"):
        save_nifti(tmp_path / "rp_im" / f"{n}.nii.gz", HU)
        save_nifti(tmp_path / "rp_msk" / f"{n}.nii.gz", lesion_labels, dtype=np.uint8)
    save_nifti(tmp_path / "rp_lung_msk" / "1.nii.gz", (LUNGS > 0).astype(np.uint8), dtype=np.uint8)
    save_nifti(tmp_path / "rp_lung_msk" / "3.nii.gz", (LUNGS > 0)[:, :, :-1].astype(np.uint8), dtype=np.uint8)
    shifted = np.roll(LUNGS > 0, 2, axis=1)                        # mask two columns off: on the mediastinum
    save_nifti(tmp_path / "rp_lung_msk" / "4.nii.gz", shifted.astype(np.uint8), dtype=np.uint8)
    save_nifti(tmp_path / "tr_im.nii.gz", HU[:, :, :1])
    refs = open_dataset("medseg", tmp_path)
    assert [r.id for r in refs] == ["rp_1", "rp_4"]
    assert sorted((s.case, s.error) for s in refs.skipped) == [
        ("rp_2", "MissingFileError"), ("rp_3", "MaskShapeError"), ("tr_im.nii.gz", "SliceSetNotAVolume")]
    study = refs[0].load()
    np.testing.assert_array_equal(study.lesion_mask, LESION)
    np.testing.assert_array_equal(study.lung_mask, LUNGS > 0)
    with pytest.raises(MaskAlignmentError, match="misaligned"):
        refs[1].load()


def test_medseg_windowed_image_without_published_window_is_refused(tmp_path):
    save_nifti(tmp_path / "rp_im" / "1.nii.gz", _windowed(HU), dtype=np.uint8)
    save_nifti(tmp_path / "rp_msk" / "1.nii.gz", LESION.astype(np.uint8), dtype=np.uint8)
    save_nifti(tmp_path / "rp_lung_msk" / "1.nii.gz", (LUNGS > 0).astype(np.uint8), dtype=np.uint8)
    with pytest.raises(IntensityError, match="0..255"):
        open_dataset("medseg", tmp_path)[0].load()


def _nsclc(root: Path) -> Path:
    cav = (LUNGS > 0).astype(np.uint8)
    for patient in ("LUNG1-001", "LUNG1-002", "LUNG1-003"):
        save_dicom_series(root / "NSCLC-Radiomics" / patient / "09-18-2008-StudyID-69331" / "0.000000-82046", HU)
        save_dicom_series(root / "NSCLC-Radiomics" / patient / "09-18-2008-StudyID-69331" / "300.000000-Seg",
                          HU[:, :, :2], modality="SEG")
    masks = root / "Thoracic_Cavities"
    save_nifti(masks / "LUNG1-001" / "LUNG1-001_thor_cav_primary_reviewer.nii.gz", cav, dtype=np.uint8,
               perm=(1, 0, 2), flips=(False, True, False))   # stored "RPI" in ITK terms (nibabel LAI)
    save_nifti(masks / "LUNG1-003" / "LUNG1-003_thor_cav_primary_reviewer.nii.gz", cav[:-1], dtype=np.uint8)
    (root / "NSCLC-Radiomics" / "LUNG1-004").mkdir()
    return root


def test_nsclc_ct_series_masks_and_shape_errors(tmp_path):
    refs = open_dataset("nsclc", _nsclc(tmp_path))
    assert [(r.id, r.covid, r.kind, r.has_lung_mask) for r in refs] == [
        ("LUNG1-001", 0, "cancer", True), ("LUNG1-002", 0, "cancer", False), ("LUNG1-003", 0, "cancer", True)]
    assert [(s.case, s.error) for s in refs.skipped] == [("LUNG1-004", "MissingFileError")]
    study = refs[0].load()
    np.testing.assert_array_equal(study.hu, HU)
    np.testing.assert_array_equal(study.lung_mask, LUNGS > 0)
    assert refs[1].load().lung_mask is None
    with pytest.raises(MaskShapeError, match="mask shape"):
        refs[2].load()


def test_plain_dicom_negatives_use_series_uids(tmp_path):
    uid_a = save_dicom_series(tmp_path / "Smith^John" / "a", HU)
    uid_b = save_dicom_series(tmp_path / "other" / "b" / "c", HU[:, ::-1])   # left/right mirrored anatomy
    refs = open_dataset("dicom_negatives", tmp_path)
    assert sorted(r.id for r in refs) == sorted([uid_a, uid_b])
    assert all(r.covid == 0 and not r.has_lung_mask for r in refs)
    assert all("Smith" not in r.id for r in refs)
    np.testing.assert_array_equal({r.id: r for r in refs}[uid_b].load().hu, HU[:, ::-1])


def test_registry_names_and_layout_errors(tmp_path):
    assert {"mosmed", "covid_ct_seg", "medseg", "nsclc"} <= set(DATASETS)
    with pytest.raises(KeyError, match="unknown dataset"):
        open_dataset("mosmedd", tmp_path)
    for name in ("mosmed", "covid_ct_seg", "medseg", "nsclc"):
        with pytest.raises(LayoutError, match="expected layout"):
            open_dataset(name, tmp_path)


def test_check_command_loads_everything_and_fails_on_a_bad_case(tmp_path, capsys):
    from covid_triage.datasets.__main__ import main
    root = _nsclc(tmp_path)
    assert main([f"nsclc={root}"]) == 0                      # listing only
    assert main([f"nsclc={root}", "--load"]) == 1            # LUNG1-003's mask has the wrong shape
    out = capsys.readouterr().out
    assert "loaded 2/3" in out and "MaskShapeError: 1" in out and "skipped (MissingFileError): 1" in out
