"""The serving-time guard: wrap a text-generation pipeline, score, rerank or rewrite its outputs.

Importing this package does not import torch or transformers; wrapping a pipeline does.
"""

from fairguard.guard.batching import MicroBatcher
from fairguard.guard.config import GuardConfig, parse_thresholds
from fairguard.guard.guard import Guard
from fairguard.guard.pipeline_wrap import AsyncGuardedPipeline, GuardedPipeline
from fairguard.guard.result import GuardRecord, PluginFailure

__all__ = ["AsyncGuardedPipeline", "Guard", "GuardConfig", "GuardRecord", "GuardedPipeline", "MicroBatcher",
           "PluginFailure", "parse_thresholds"]
