"""ServeConfig: YAML with flags on top, validation with clear errors, no secrets in public()."""

import pytest

from fairguard.errors import ConfigError
from fairguard.serve import ServeConfig, build_serve_config


def test_yaml_with_flags_on_top(tmp_path):
    path = tmp_path / "serve.yaml"
    path.write_text("reward-model: rm\nport: 9000\nguard:\n  strategy: rewrite\n  n: 2\n  fail: open\n")
    config = build_serve_config(path, guard_overrides={"n": 6, "below": None}, port=9100, api_key="k")
    assert config.reward_model == "rm" and config.port == 9100 and config.api_key == "k"
    assert config.guard == {"strategy": "rewrite", "n": 6, "fail": "open"}
    assert config.guard_config().n == 6 and config.host == "127.0.0.1"
    assert config.backend == "local" and config.model_names() == ["smollm2-135m-instruct"]


def test_model_names_for_each_backend():
    assert ServeConfig(rewards="gender-bias", upstream="http://h:1/v1").model_names() == []
    assert ServeConfig(rewards="gender-bias", upstream="http://h:1/v1", upstream_model="m").model_names() == ["m"]
    assert ServeConfig(rewards="gender-bias", served_model_name="guarded").model_names() == ["guarded"]


def test_public_hides_the_keys():
    data = ServeConfig(rewards="gender-bias", api_key="k", upstream_api_key="u").public()
    assert data["api_key"] == "(set)" and data["upstream_api_key"] == "(set)" and "k" not in data.values()


@pytest.mark.parametrize("options, words", [
    ({}, "no rewards"),
    ({"rewards": "gender-bias", "guard": {"strategy": "best"}}, "strategy"),
    ({"rewards": "gender-bias", "guard": {"colour": "red"}}, "unknown guard option"),
    ({"rewards": "gender-bias", "guard": ["rerank"]}, "guard must be a mapping"),
    ({"rewards": "gender-bias", "upstream": "localhost:8000"}, "an http.s. base URL"),
    ({"rewards": "gender-bias", "upstream_candidates": "many"}, "upstream_candidates"),
    ({"rewards": "gender-bias", "port": 70000}, "port"),
    ({"rewards": "gender-bias", "max_body_bytes": 0}, "max_body_bytes"),
    ({"rewards": "gender-bias", "deadline_s": -1}, "deadline_s"),
    ({"rewards": "gender-bias", "api_key": " "}, "api_key"),
    ({"rewards": "gender-bias", "default_max_tokens": 2000}, "default_max_tokens"),
    ({"rewards": "gender-bias", "reward_options": {"reward-model": "rm"}}, "reward_options"),
    ({"rewards": "gender-bias", "moderation_thresholds": "fairness"}, "threshold"),
])
def test_bad_options_are_config_errors(options, words):
    with pytest.raises(ConfigError, match=words):
        ServeConfig(**options)


def test_unknown_yaml_key_is_a_config_error(tmp_path):
    path = tmp_path / "serve.yaml"
    path.write_text("reward_model: rm\nstrategy: rerank\n")
    with pytest.raises(ConfigError, match="unknown option"):
        build_serve_config(path)
