import importlib

from fairguard import plugin_manager
from fairguard.plugin_manager import DEFAULT_PLUGINS, load_plugins, plugin_infos


def test_default_plugins_are_registered_under_their_short_names():
    pm = load_plugins()
    for module_name in DEFAULT_PLUGINS:
        module = importlib.import_module(module_name)
        assert pm.get_plugin(module_name.rsplit(".", 1)[-1]) is module


def test_builtins_hidden_without_include_builtin():
    names_all = {info.name for info in plugin_infos(include_builtin=True)}
    names = {info.name for info in plugin_infos()}
    assert {"gender_bias", "neutralize"} <= names_all
    assert not ({"gender_bias", "neutralize"} & names)


def test_third_party_plugins_not_loaded_in_tests():
    assert plugin_manager._third_party_disabled_in_tests()
    assert all(info.builtin for info in plugin_infos(include_builtin=True)
               if info.name in {"gender_bias", "neutralize"})
    assert "generalization" not in {info.name for info in plugin_infos(include_builtin=True)}


def test_load_plugins_env_parsing(monkeypatch):
    monkeypatch.setenv("FAIRGUARD_LOAD_PLUGINS", "a, b,,")
    assert plugin_manager._allowed_third_party() == {"a", "b"}
    monkeypatch.setenv("FAIRGUARD_LOAD_PLUGINS", "")
    assert plugin_manager._allowed_third_party() == set()
    monkeypatch.delenv("FAIRGUARD_LOAD_PLUGINS")
    assert plugin_manager._allowed_third_party() is None
