"""Datasets: the Chinese-context discrimination pairs, UnQover questions, and their loaders."""

from fairguard.data.builder import BuildResult, build_dataset
from fairguard.data.config import DataConfig
from fairguard.data.loaders import PairRow, UnqoverRow, load_pairs, load_unqover

__all__ = ["BuildResult", "DataConfig", "PairRow", "UnqoverRow", "build_dataset", "load_pairs",
           "load_unqover"]
