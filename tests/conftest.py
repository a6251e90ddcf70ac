"""Shared fixtures: tiny random models built in code, markers, and plugin isolation."""

from __future__ import annotations

import sys

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Tests never auto-load third-party plugins installed in the environment.
    sys._called_from_test = True  # type: ignore[attr-defined]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if has_cuda:
        return
    skip_gpu = pytest.mark.skip(reason="needs CUDA; no GPU on this machine")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


@pytest.fixture(scope="session")
def tiny_causal_lm_dir(tmp_path_factory: pytest.TempPathFactory):
    from fairguard.testing import save_tiny, tiny_causal_lm

    return save_tiny(*tiny_causal_lm(), tmp_path_factory.mktemp("tiny-causal"))


@pytest.fixture(scope="session")
def tiny_masked_lm_dir(tmp_path_factory: pytest.TempPathFactory):
    from fairguard.testing import save_tiny, tiny_masked_lm

    return save_tiny(*tiny_masked_lm(), tmp_path_factory.mktemp("tiny-masked"))


@pytest.fixture(scope="session")
def tiny_deberta_dir(tmp_path_factory: pytest.TempPathFactory):
    from fairguard.testing import save_tiny, tiny_deberta_classifier

    return save_tiny(*tiny_deberta_classifier(), tmp_path_factory.mktemp("tiny-deberta"))


@pytest.fixture()
def length_plugin():
    """The ``length`` reward (words / 10, tests/training_rewards.py) registered as a plugin for
    one test, so that CLI runs can name it."""
    from training_rewards import LengthPlugin

    from fairguard.plugin_manager import register_plugin, unregister_plugin

    register_plugin(LengthPlugin(), name="test-length")
    yield
    unregister_plugin("test-length")
