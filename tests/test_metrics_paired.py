"""Paired before/after change and its standard error."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fairguard.errors import ConfigError, FairguardError
from fairguard.metrics.paired import Z95, paired_change


def test_change_is_the_mean_difference_with_the_paired_standard_error():
    before = [0.1, 0.5, 0.9, 0.3]
    after = [0.4, 0.5, 0.7, 0.8]
    got = paired_change(before, after)
    diffs = np.array(after) - np.array(before)
    assert got.n == 4
    assert got.before == pytest.approx(np.mean(before))
    assert got.after == pytest.approx(np.mean(after))
    assert got.change == pytest.approx(diffs.mean())
    assert got.se == pytest.approx(diffs.std(ddof=1) / math.sqrt(4))
    assert (got.improved, got.worse) == (2, 1)
    low, high = got.ci95
    assert low == pytest.approx(got.change - Z95 * got.se)
    assert high == pytest.approx(got.change + Z95 * got.se)


def test_pairing_removes_the_spread_between_prompts():
    """The same shift on prompts of very different levels has zero standard error."""
    before = [0.0, 0.2, 0.9, 0.5]
    got = paired_change(before, [b + 0.05 for b in before])
    assert got.change == pytest.approx(0.05)
    assert got.se == pytest.approx(0.0, abs=1e-12)


def test_to_dict_is_json_ready():
    d = paired_change([0.0, 1.0], [1.0, 1.0]).to_dict()
    assert set(d) == {"n", "before", "after", "change", "se", "improved", "worse", "ci95"}
    assert isinstance(d["ci95"], list) and len(d["ci95"]) == 2


def test_one_prompt_has_no_spread():
    got = paired_change([0.2], [0.7])
    assert got.change == pytest.approx(0.5) and got.se == 0.0


@pytest.mark.parametrize("before, after, match", [
    ([0.1, 0.2], [0.3], "one value per prompt"),
    ([], [], "at least one prompt"),
    ([0.1, float("nan")], [0.2, 0.3], "NaN"),
    ([0.1, 0.2], [float("inf"), 0.3], "NaN or infinity"),
])
def test_bad_input_is_a_clear_error(before, after, match):
    with pytest.raises(ConfigError, match=match) as info:
        paired_change(before, after)
    assert isinstance(info.value, FairguardError)
