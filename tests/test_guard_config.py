import pytest

from fairguard.config import build_config
from fairguard.errors import ConfigError
from fairguard.guard.config import GuardConfig, parse_thresholds


def test_defaults_are_valid_and_serialisable():
    cfg = GuardConfig()
    assert cfg.strategy == "rerank" and cfg.n == 4 and cfg.fail == "closed" and cfg.below == "flag"
    data = cfg.to_dict()
    assert data["thresholds"] == {} and "threshold_map" not in data


def test_thresholds_parse_from_string_and_mapping():
    assert parse_thresholds("fairness=0.5, total=1.2") == {"fairness": 0.5, "total": 1.2}
    assert parse_thresholds({"fluency": 1}) == {"fluency": 1.0}
    assert GuardConfig(thresholds="fairness=0.4").threshold_map == {"fairness": 0.4}


@pytest.mark.parametrize("spec", ["fairness", "fairness=abc", "fairness=nan", "a=1,a=2", "=1"])
def test_bad_thresholds_are_config_errors(spec):
    with pytest.raises(ConfigError):
        parse_thresholds(spec)


@pytest.mark.parametrize("options", [
    {"strategy": "best"}, {"fail": "maybe"}, {"below": "ignore"}, {"n": 0}, {"n": 65},
    {"n": 2.0}, {"timeout_s": -1}, {"timeout_s": float("inf")}, {"max_rewrites": -1},
    {"max_chars": 0}, {"refusal_text": 3},
])
def test_out_of_range_options_are_config_errors(options):
    with pytest.raises(ConfigError):
        GuardConfig(**options)


def test_zero_timeout_means_no_limit():
    assert GuardConfig(timeout_s=0).timeout_s is None
    assert GuardConfig(timeout_s=2).timeout_s == 2.0


def test_builds_from_yaml_with_overrides(tmp_path):
    path = tmp_path / "guard.yaml"
    path.write_text("strategy: rewrite\nn: 2\nthresholds: {fairness: 0.5}\nbelow: refuse\n")
    cfg = build_config(GuardConfig, path, n=3)
    assert (cfg.strategy, cfg.n, cfg.below) == ("rewrite", 3, "refuse")
    assert cfg.threshold_map == {"fairness": 0.5}
