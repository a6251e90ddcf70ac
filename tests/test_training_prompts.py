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


def test_keyed_share_repeats_or_samples_keyed_prompts():
    from fairguard.training.prompts import with_keyed_share

    prompts = [f"u{i}" for i in range(6)] + ["k0", "k1"]
    keyed = {"k0", "k1"}
    more = with_keyed_share(prompts, keyed, 0.5, seed=3)
    assert more[:6] == prompts[:6] and sorted(more[6:]) == ["k0", "k0", "k0", "k1", "k1", "k1"]
    odd = with_keyed_share(prompts, keyed, 0.4, seed=3)  # 4 copies of 2 keyed prompts
    assert sorted(odd[6:]) == ["k0", "k0", "k1", "k1"]
    fewer = with_keyed_share(prompts, keyed, 0.1, seed=3)  # below the dataset's 0.25: one of the two
    assert len(fewer) == 7 and set(fewer[6:]) < keyed
    assert with_keyed_share(prompts, keyed, 0.5, seed=3) == more  # seeded
    with pytest.raises(DataError, match="no answer keys"):
        with_keyed_share(prompts[:6], keyed, 0.5)
    with pytest.raises(DataError, match="nothing to share"):
        with_keyed_share(["k0", "k1"], keyed, 0.5)
    with pytest.raises(DataError, match="between 0 and 1"):
        with_keyed_share(prompts, keyed, 1.0)


def test_keyed_share_from_a_built_dataset(tmp_path):
    from click.testing import CliRunner

    from fairguard.cli import cli
    from fairguard.data.loaders import load_pairs

    result = CliRunner().invoke(cli, ["data", "build", "--out", str(tmp_path / "d"), "--size", "small"])
    assert result.exit_code == 0, result.output[-2000:]
    keyed = {r.prompt for r in load_pairs(str(tmp_path / "d"), "train") if r.persons}
    plain, held = load_prompts(str(tmp_path / "d"))
    assert 0 < len(keyed) < len(plain)
    shared, held_too = load_prompts(str(tmp_path / "d"), keyed_share=0.6)
    assert held_too == held and set(shared) == set(plain)
    share = sum(p in keyed for p in shared) / len(shared)
    assert abs(share - 0.6) < 0.01 and share > len(keyed) / len(plain)
    with pytest.raises(DataError, match="needs --data"):
        load_prompts(None, keyed_share=0.6)


def test_keyed_share_is_an_option_of_train_grpo():
    from fairguard.errors import ConfigError
    from fairguard.training.config import GRPOConfig

    assert GRPOConfig(data="d", keyed_share=0.5).keyed_share == 0.5
    with pytest.raises(ConfigError, match="between 0 and 1"):
        GRPOConfig(data="d", keyed_share=0.0)
    with pytest.raises(ConfigError, match="needs --data"):
        GRPOConfig(keyed_share=0.5)
