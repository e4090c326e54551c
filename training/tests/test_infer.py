"""The Python reference pipeline (covid_triage.infer): its pieces against hand values and the
golden pooling, and the whole pipeline with fake graphs on a hand-computable chest (the same
chest as libs/inference/src/triage-pipeline.spec.ts)."""
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from covid_triage import infer
from covid_triage.pyramid_pool import pyramid_pool_numpy

MANIFEST = Path(__file__).resolve().parents[2] / "models" / "covid-triage-demo" / "manifest.json"


def test_mulberry32_is_the_typescript_stream():
    random = infer.Mulberry32(42)
    assert [random() * 2 ** 32 for _ in range(5)] == [2581720956, 1925393290, 3661312704, 2876485805, 750819978]


@pytest.mark.parametrize("shape", [(10, 13, 9), (8, 8, 8), (17, 11, 23)])
def test_streamed_pooling_equals_the_reference(shape):
    h, w, d = shape
    fm = np.random.default_rng(sum(shape)).standard_normal((d, infer.CHANNELS, h, w)).astype(np.float32)
    per_slice = [[] for _ in infer.LEVELS]
    for start in range(0, d, 4):  # in batches, as the pipeline runs
        for level, m in zip(per_slice, infer.slice_bin_maxima(fm[start:start + 4])):
            level.append(m)
    streamed = infer.pool_slice_maxima([np.concatenate(level) for level in per_slice])
    np.testing.assert_array_equal(streamed, pyramid_pool_numpy(np.transpose(fm, (1, 2, 3, 0))))


AXES = {"x": (1, 0, 0), "y": (0, 1, 0), "z": (0, 0, 1)}
neg = lambda v: tuple(-a for a in v)  # noqa: E731
IN_PLANE = [(r, c) for a, b in (("x", "y"), ("y", "x")) for r, c in itertools.product(
    (AXES[a], neg(AXES[a])), (AXES[b], neg(AXES[b])))]
ORIENTATIONS = [(r, c, s) for r, c in IN_PLANE for s in (AXES["z"], neg(AXES["z"]))]


def volume_in(directions, sizes, spacing, hu):
    """hu[k, j, i] of a patient-space function, centred on the origin (as testing/axial-volume.ts)."""
    step = [np.array(d, float) * s for d, s in zip(directions, spacing)]
    origin = -sum(st * (n - 1) / 2 for st, n in zip(step, sizes))
    k, j, i = np.meshgrid(*(np.arange(n) for n in sizes[::-1]), indexing="ij")
    p = [origin[a] + i * step[0][a] + j * step[1][a] + k * step[2][a] for a in range(3)]
    geometry = {"origin": origin.tolist(), "directions": [list(map(float, d)) for d in directions],
                "spacing": list(spacing)}
    return hu(*p).astype(np.float32), geometry


@pytest.mark.parametrize("directions", ORIENTATIONS)
def test_model_layout_is_anatomical_in_every_storage_order(directions):
    # value encodes the anatomy: 100 * (x + 10) + (y + 10) + 1000 * z-slice rank
    hu, g = volume_in(directions, (5, 5, 4), (1.0, 1.0, 2.0), lambda x, y, z: 1e4 * z + 100 * x + y)
    axes = infer.model_axes(g["directions"])
    model = infer.to_model_layout(hu, axes)
    # slices head->feet (z falls), rows A->P (y rises), cols R->L (x rises)
    assert np.all(np.diff(model, axis=0) < 0) and np.all(np.diff(model, axis=1) > 0) and np.all(np.diff(model, axis=2) > 0)
    np.testing.assert_array_equal(infer.to_source_layout(model, axes), hu)


def test_resampling_aligns_pixel_centres_and_fills_outside():
    data = np.arange(4 * 6, dtype=np.float32).reshape(1, 4, 6)
    out, rows, cols = infer.resample_in_plane(data, (1.0, 1.0), 2.0, fill=-5)
    assert out.shape == (1, 2, 3) and rows["scale"] == 2
    # 2 mm pixel (o, p) samples 1 mm coordinate (2o + 0.5, 2p + 0.5): the mean of a 2 x 2 block
    np.testing.assert_array_equal(out[0], [[3.5, 5.5, 7.5], [15.5, 17.5, 19.5]])
    out, _, _ = infer.resample_in_plane(np.ones((1, 3, 3), np.float32), (1.0, 1.0), 2.0, fill=-5)
    # 1.5 pixels -> 2 output pixels; the second samples 2.5 > last centre 2: outside -> fill
    np.testing.assert_array_equal(out[0], [[1, -5], [-5, -5]])


def test_two_means_and_the_right_lung_is_the_smaller_patient_x():
    rng = np.random.default_rng(3)
    points = np.concatenate([rng.normal((-40, 0, 0), 4, (100, 3)), rng.normal((35, 5, 10), 4, (200, 3))])
    centres, labels = infer.two_means(points)
    assert len(set(labels[:100])) == 1 and len(set(labels[100:])) == 1 and labels[0] != labels[100]
    assert sorted(round(c[0]) for c in centres) == pytest.approx([-40, 35], abs=2)
    for directions in ORIENTATIONS[::5]:
        hu, g = volume_in(directions, (48, 48, 20), (2.0, 2.0, 2.5), lambda x, y, z: np.where(
            (x + 25) ** 2 + y ** 2 + z ** 2 <= 196, 1, np.where((x - 25) ** 2 + y ** 2 + z ** 2 <= 121, 2, 0)))
        right, left = infer.split_lungs((hu > 0).astype(np.uint8), g)
        np.testing.assert_array_equal(right, hu == 1)
        np.testing.assert_array_equal(left, hu == 2)


def chest(x, y, z):
    """The chest of triage-pipeline.spec.ts: tissue, two ellipsoid lungs, a lesion block on the right."""
    lung = lambda cx: ((x - cx) / 12) ** 2 + (y / 25) ** 2 + (z / 15) ** 2 <= 1  # noqa: E731
    lesion = (x >= -26) & (x < -14) & (y >= -8) & (y < 8) & (z >= -5) & (z < 5)
    return np.where(lesion, -300, np.where(lung(-20) | lung(20), -850, 40))


class FakeModel:
    """Graphs that answer from the windowed input, as the TypeScript fakes do."""

    def __init__(self):
        self.manifest = json.loads(MANIFEST.read_text())
        self.batches = []

    def run(self, graph, name, x):
        self.batches.append((graph, x.shape[0]))
        if graph == "lungs":
            return [np.where((x > 0.05) & (x < 0.6), 10, -10).astype(np.float32)]
        if graph == "backbone_seg":
            fm = np.concatenate([x * (c + 1) for c in range(infer.CHANNELS)], axis=1)
            return [fm, np.where((x > 0.5) & (x < 0.6), 0, -10).astype(np.float32)]
        return [np.array([[2 * x[0, 0] - 1]], np.float32)]


@pytest.mark.parametrize("directions", ORIENTATIONS[::7])
def test_whole_pipeline_on_the_hand_computable_chest(directions):
    hu, g = volume_in(directions, (96, 96, 16), (1.0, 1.0, 2.5), chest)
    model = FakeModel()
    result, masks = infer.analyze(hu, g, model, batch=5)
    assert [n for graph, n in model.batches if graph == "lungs"] == [5, 5, 5, 1]
    assert [n for graph, n in model.batches if graph == "backbone_seg"] == [5, 5, 2]
    assert result["lungBox"]["slices"] == [2, 14]
    np.testing.assert_array_equal(masks["lesion"], hu == -300)
    assert masks["lesion"].sum() == 768
    by = {r["region"]: r for r in result["lungs"]}
    assert by["right"]["lesionVolumeMl"] == pytest.approx(1.92) and by["left"]["lesionVolumeMl"] == 0
    assert masks["rightLung"].sum() == masks["leftLung"].sum()
    analytic = 4 / 3 * np.pi * 12 * 25 * 15 / 1000
    assert by["right"]["lungVolumeMl"] == pytest.approx(analytic, rel=0.08)
    assert result["severityPercent"] == by["right"]["percentAffected"] == pytest.approx(
        100 * 768 / masks["rightLung"].sum())
    assert result["covidProbability"] == pytest.approx(1 / (1 + np.exp(-(2 * np.float32(1040 / 1300) - 1))), abs=1e-6)


def test_no_lungs_is_a_typed_failure():
    hu, g = volume_in(ORIENTATIONS[0], (32, 32, 10), (2.0, 2.0, 2.5), lambda x, y, z: np.full_like(x, -1000))
    with pytest.raises(infer.TriageFailure) as failure:
        infer.analyze(hu, g, FakeModel())
    assert failure.value.code == "NO_LUNGS_FOUND"
