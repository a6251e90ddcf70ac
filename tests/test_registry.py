import numpy as np
import pytest

import fairguard
from fairguard.errors import ConfigError, PluginError, UnknownNameError
from fairguard.plugin_manager import register_plugin, unregister_plugin
from fairguard.registry import filter_registrations, reward_registrations


def test_builtin_names_registered():
    assert "gender-bias" in reward_registrations()
    assert "neutralize" in filter_registrations()


def test_unknown_reward_lists_known():
    with pytest.raises(UnknownNameError) as info:
        fairguard.get_reward("no-such-reward")
    assert "gender-bias" in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_filter_lists_known():
    with pytest.raises(UnknownNameError, match="known filters: .*neutralize"):
        fairguard.get_filter("no-such-filter")


def test_bad_options_are_a_config_error():
    with pytest.raises(ConfigError, match="does not accept options"):
        fairguard.get_reward("gender-bias", nonsense=1)


class _NotAReward:
    pass


class _Dup:
    @fairguard.hookimpl
    def register_rewards(self, register):
        register("gender-bias", _NotAReward)


class _Bad:
    @fairguard.hookimpl
    def register_rewards(self, register):
        register("not-a-reward", _NotAReward)


def test_duplicate_name_names_both_plugins():
    register_plugin(_Dup(), name="dup-plugin")
    try:
        with pytest.raises(PluginError, match="already registered by plugin 'gender_bias'"):
            reward_registrations()
    finally:
        unregister_plugin("dup-plugin")
    assert "gender-bias" in reward_registrations()


def test_protocol_violation_is_reported():
    register_plugin(_Bad(), name="bad-plugin")
    try:
        with pytest.raises(PluginError, match="does not satisfy the Reward protocol"):
            fairguard.get_reward("not-a-reward")
    finally:
        unregister_plugin("bad-plugin")


def test_reward_protocol_is_runtime_checkable():
    reward = fairguard.get_reward("gender-bias")
    assert isinstance(reward, fairguard.Reward)
    out = reward.score(["q"], ["They are a capable engineer."])
    assert isinstance(out["gender-bias"], np.ndarray)


def test_registrations_follow_plugins_registered_at_run_time():
    class Late:
        @fairguard.hookimpl
        def register_rewards(self, register):
            register("late-reward", lambda: None, "registered after the first lookup")

    assert "late-reward" not in reward_registrations()
    register_plugin(Late(), name="late-plugin")
    try:
        assert "late-reward" in reward_registrations()
    finally:
        unregister_plugin("late-plugin")
    assert "late-reward" not in reward_registrations()


def test_resolve_takes_a_name_or_an_object():
    from fairguard.registry import resolve_filter, resolve_reward

    reward = resolve_reward("gender-bias")
    assert resolve_reward(reward) is reward
    assert resolve_filter("neutralize").name == "neutralize"
    with pytest.raises(ConfigError, match="is not a reward"):
        resolve_reward(object())
    with pytest.raises(ConfigError, match="is not a filter"):
        resolve_filter(42)
