"""`fairguard demo`: the whole mission end to end on embedded models, plus a report."""

from fairguard.demo.config import DemoConfig
from fairguard.demo.stages import Stage, build_stages, run_demo

__all__ = ["DemoConfig", "Stage", "build_stages", "run_demo"]
