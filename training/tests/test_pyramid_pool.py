import json
from pathlib import Path

import numpy as np
import pytest
import torch

from covid_triage import pyramid_pool as pp

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "pyramid_pool.json"


def test_notes_example_windows():
    assert pp.windows(10, 4) == [(0, 4), (2, 6), (4, 8), (6, 10)]
    assert pp.windows(8, 8) == [(i, i + 1) for i in range(8)]
    assert pp.windows(9, 8)[-1] == (7, 9)  # last window absorbs the remainder
    assert pp.windows(13, 1) == [(0, 13)]


def test_feature_size():
    assert pp.N_BINS == 585 and pp.FEATURE_SIZE == 4680


@pytest.mark.parametrize("shape", [(8, 10, 13, 9), (8, 8, 8, 8), (8, 17, 11, 12), (8, 31, 9, 40)])
def test_numpy_equals_torch(shape):
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    a = pp.pyramid_pool_numpy(x)
    b = pp.pyramid_pool_torch(torch.from_numpy(x)).numpy()
    assert a.shape == (4680,) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)


def test_layout_is_level_then_channel_major():
    x = np.zeros((8, 8, 8, 8), np.float32)
    x[3, 7, 0, 5] = 1.0  # channel 3, last h bin, first w bin, d bin 5 at level 8
    v = pp.pyramid_pool_numpy(x)
    assert v[3] == 1.0  # level 1: one bin per channel
    off = 8 + 8 * 8 + 8 * 64  # past levels 1, 2, 4
    assert v[off + ((3 * 8 + 7) * 8 + 0) * 8 + 5] == 1.0
    assert v.sum() == 4  # exactly one bin per level


def test_not_adaptive_max_pool():
    x = torch.randn(1, 8, 10, 10, 10)
    ours = pp.pyramid_pool_torch(x)[0, 8 + 8 * 8: 8 + 8 * 8 + 8 * 64]
    adaptive = torch.nn.functional.adaptive_max_pool3d(x, 4).reshape(-1)
    assert not torch.equal(ours, adaptive)  # adaptive windows for 10/4 are [0,3) [2,5) [5,8) [7,10)


@pytest.mark.parametrize("shape", [(8, 7, 10, 10), (8, 10, 10, 7), (8, 10, 10), (4, 10, 10, 10)])
def test_rejects_bad_shapes(shape):
    x = np.zeros(shape, np.float32)
    with pytest.raises(ValueError):
        pp.pyramid_pool_numpy(x)
    with pytest.raises(ValueError):
        pp.pyramid_pool_torch(torch.from_numpy(x))


def test_golden_file_is_current_and_small():
    doc = json.loads(GOLDEN.read_text())
    assert GOLDEN.stat().st_size < 300_000
    assert doc["levels"] == [1, 2, 4, 8] and doc["featureSize"] == 4680
    cases = pp.golden_cases()
    assert [c["shape"] for c in doc["cases"]] == [list(s) for s in pp.GOLDEN_SHAPES]
    for case, (x, y) in zip(doc["cases"], cases):
        xin = np.asarray(case["input"], np.float32).reshape(case["shape"])
        np.testing.assert_array_equal(xin, x)
        np.testing.assert_array_equal(np.asarray(case["expected"], np.float32), y)
        np.testing.assert_array_equal(pp.pyramid_pool_torch(torch.from_numpy(xin)).numpy(), y)


def test_write_golden_is_deterministic(tmp_path):
    p = pp.write_golden(tmp_path / "g.json")
    assert p.read_bytes() == GOLDEN.read_bytes()
