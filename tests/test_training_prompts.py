"""Training / held-out prompts and the per-step prompt schedule."""

from __future__ import annotations

import pytest

from fairguard.errors import DataError
from fairguard.training.prompts import BUILTIN_PROMPTS, held_out_sample, load_prompts, step_prompts


def test_builtin_split_is_disjoint():
    train, held = load_prompts(None, seed=0)
    assert len(held) == 8 and not set(train) & set(held)
    assert set(train) | set(held) == set(BUILTIN_PROMPTS)


def test_dataset_folder(tmp_path):
    from click.testing import CliRunner

    from fairguard.cli import cli

    result = CliRunner().invoke(cli, ["data", "build", "--out", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output[-2000:]
    train, held = load_prompts(str(tmp_path / "d"))
    assert train and held and len(set(train)) == len(train)
    with pytest.raises(DataError, match="not a folder"):
        load_prompts(str(tmp_path / "missing"))


def test_step_prompts_cover_epochs_and_split_ranks():
    prompts = [f"p{i}" for i in range(5)]
    seen = [p for s in range(5) for p in step_prompts(prompts, s, 2, seed=1)]
    assert sorted(seen[:5]) == prompts and sorted(seen[5:10]) == prompts
    assert step_prompts(prompts, 3, 2, seed=1) == step_prompts(prompts, 3, 2, seed=1)
    r0 = step_prompts(prompts, 0, 2, seed=1, rank=0, world_size=2)
    r1 = step_prompts(prompts, 0, 2, seed=1, rank=1, world_size=2)
    assert r0 + r1 == [p for s in range(2) for p in step_prompts(prompts, s, 2, seed=1)]


def test_held_out_sample():
    assert held_out_sample(["a", "b"], 5) == ["a", "b"]
    assert len(held_out_sample([str(i) for i in range(50)], 10, seed=0)) == 10
