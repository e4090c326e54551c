"""Reads a DICOM SR (TID 1500 Measurement Report) with two readers this project did not write.

    python read_sr.py SR OUT_JSON

Writes to OUT_JSON what pydicom sees in the header and what highdicom's MeasurementReport
API finds in the content tree: observer, procedure, image library, measurement groups
(tracking identifier and UID, finding, finding sites, algorithm, referenced segment,
measurements with units) and the qualitative evaluations. The test compares these with
what it wrote: this script only reads and reports.
"""
import json
import sys

import highdicom as hd
import pydicom
from pydicom.sr.codedict import codes


def code(c):
    if c is None:
        return None
    return {"value": c.value, "scheme": c.scheme_designator, "meaning": c.meaning}


def dcode(item):
    return {"value": item.CodeValue, "scheme": item.CodingSchemeDesignator, "meaning": item.CodeMeaning}


def read_pydicom(ds):
    evidence = []
    for study in ds.get("CurrentRequestedProcedureEvidenceSequence", []):
        for series in study.ReferencedSeriesSequence:
            evidence.append({
                "study": study.StudyInstanceUID,
                "series": series.SeriesInstanceUID,
                "instances": [(i.ReferencedSOPClassUID, i.ReferencedSOPInstanceUID) for i in series.ReferencedSOPSequence],
            })
    patient_study = {}
    for keyword in ["PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
                    "ReferringPhysicianName", "StudyID", "AccessionNumber"]:
        value = ds.get(keyword, None) if keyword in ds else None
        patient_study[keyword] = None if keyword not in ds else ("" if value is None else str(value))
    return {
        "sopClassUid": ds.SOPClassUID,
        "sopInstanceUid": ds.SOPInstanceUID,
        "seriesInstanceUid": ds.SeriesInstanceUID,
        "studyInstanceUid": ds.StudyInstanceUID,
        "modality": ds.Modality,
        "seriesNumber": int(ds.SeriesNumber),
        "seriesDescription": ds.SeriesDescription,
        "completionFlag": ds.CompletionFlag,
        "verificationFlag": ds.VerificationFlag,
        "title": dcode(ds.ConceptNameCodeSequence[0]),
        "template": ds.ContentTemplateSequence[0].TemplateIdentifier,
        "codingSchemes": [item.CodingSchemeDesignator for item in ds.get("CodingSchemeIdentificationSequence", [])],
        "evidence": evidence,
        "patientStudy": patient_study,
    }


def measurement(m):
    return {
        "name": code(m.name),
        "value": float(m.value),
        "unit": code(m.unit),
        "findingSites": [code(s.value) for s in m.finding_sites],
    }


def algorithm_of(group):
    name = version = None
    for item in group[0].ContentSequence:
        if item.name == codes.DCM.AlgorithmName:
            name = item.value
        if item.name == codes.DCM.AlgorithmVersion:
            version = item.value
    return {"name": name, "version": version}


def sites_of(group):
    sites = []
    for site in group.finding_sites:
        laterality = None
        for child in site.get("ContentSequence", []):
            if child.ConceptNameCodeSequence[0].CodeValue == "272741003":
                laterality = dcode(child.ConceptCodeSequence[0])
        sites.append({"site": code(site.value), "laterality": laterality})
    return sites


def segment_numbers(segment):
    """highdicom's referenced_segment_numbers handles MultiValue, but pydicom 3 reads a
    multi-valued US as a list, which it then fails on: read the element for that case."""
    try:
        return [int(n) for n in (segment.referenced_segment_numbers or [])]
    except TypeError:
        return [int(n) for n in segment[0].ReferencedSOPSequence[0].ReferencedSegmentNumber]


def read_highdicom(path):
    sr = hd.sr.srread(path)
    report = sr.content
    assert isinstance(report, hd.sr.MeasurementReport), type(report)
    observers = report.get_observer_contexts()
    observer = observers[0] if observers else None
    device = None
    if observer is not None:
        attributes = observer.observer_identifying_attributes
        device = {
            "type": code(observer.observer_type),
            "uid": str(attributes.uid),
            "name": attributes.name,
            "manufacturer": attributes.manufacturer_name,
            "model": attributes.model_name,
        }
    root = report[0]
    procedure = [code(item.value) for item in root.ContentSequence if item.name == codes.DCM.ProcedureReported]
    language = [code(item.value) for item in root.ContentSequence
                if item.name == codes.DCM.LanguageOfContentItemAndDescendants]
    library = [item for item in root.ContentSequence if item.name == codes.DCM.ImageLibrary]
    library_images = []
    for lib in library:
        for group in lib.ContentSequence:
            for image in group.ContentSequence:
                library_images.append(list(image.value))
    qualitative = []
    for item in root.ContentSequence:
        if item.ConceptNameCodeSequence[0].CodeValue == "C0034375":
            for child in item.ContentSequence:
                qualitative.append({"name": dcode(child.ConceptNameCodeSequence[0]), "text": child.TextValue})

    volumetric = []
    for group in report.get_volumetric_roi_measurement_groups():
        segment = group.referenced_segment
        source_series = segment.source_series_for_segmentation if segment is not None else None
        volumetric.append({
            "trackingIdentifier": group.tracking_identifier,
            "trackingUid": str(group.tracking_uid),
            "finding": code(group.finding_type),
            "findingSites": sites_of(group),
            "algorithm": algorithm_of(group),
            "referencedSegment": None if segment is None else {
                "sopClassUid": str(segment.referenced_sop_class_uid),
                "sopInstanceUid": str(segment.referenced_sop_instance_uid),
                "segmentNumbers": segment_numbers(segment),
                "sourceSeries": None if source_series is None else str(source_series.value),
            },
            "measurements": [measurement(m) for m in group.get_measurements()],
        })
    # The study-level group (TID 1501).
    image_groups = []
    for group in report.get_image_measurement_groups():
        measurements = []
        for m in group.get_measurements():
            entry = measurement(m)
            entry["equivalentMeaning"] = None
            for child in m[0].get("ContentSequence", []):
                if child.ConceptNameCodeSequence[0].CodeValue == "121050":
                    entry["equivalentMeaning"] = child.TextValue
            measurements.append(entry)
        image_groups.append({
            "trackingIdentifier": group.tracking_identifier,
            "trackingUid": str(group.tracking_uid),
            "algorithm": algorithm_of(group),
            "measurements": measurements,
        })
    return {
        "title": code(report[0].name),
        "device": device,
        "procedure": procedure,
        "language": language,
        "imageLibrary": library_images,
        "volumetricGroups": volumetric,
        "imageGroups": image_groups,
        "qualitative": qualitative,
    }


def main():
    path, out = sys.argv[1], sys.argv[2]
    ds = pydicom.dcmread(path)
    result = {"pydicom": read_pydicom(ds), "highdicom": read_highdicom(path)}
    with open(out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
